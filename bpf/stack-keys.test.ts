import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { offcputime } from './bpftrace/offcputime/manifest.ts';
import { profile } from './bpftrace/profile/manifest.ts';
import { AGENT_NAMES_USER_FRAMES, parseStackKey, sampleFrames, STACK_KEYED_LIMITS } from './stack-keys.ts';
import { toolFixture } from '../test/helpers/recordings.ts';

/** The keys of map `map` at its last printing in a recorded bpftrace output. */
function recordedKeys(tool: string, fixture: string, map: string): string[] {
  let keys: string[] = [];
  for (const line of toolFixture(tool, fixture).split('\n')) {
    if (line.trim() === '') continue;
    const doc = z.object({ type: z.string(), data: z.record(z.string(), z.unknown()) }).safeParse(JSON.parse(line));
    const value = doc.success && doc.data.type === 'map' ? doc.data.data[map] : undefined;
    if (value && typeof value === 'object') keys = Object.keys(value);
  }
  return keys;
}

describe('stack keys as both stack tools print them', () => {
  it("reads a recorded off-CPU block's key: kernel and user frames leaf first, pid and comm", () => {
    const [key] = recordedKeys('offcputime', 'nap-pid.json', '@us');
    const parsed = parseStackKey(key!, { map: '@us' });
    expect(parsed).toEqual({
      kernel: ['__schedule', 'schedule', 'do_nanosleep', 'hrtimer_nanosleep', '__x64_sys_nanosleep', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe'],
      user: ['doze_between_requests', 'main', '__libc_start_call_main'],
      pid: 16541,
      comm: 'th-sleeper',
    });
    // One folded line: the process, then root to leaf, the kernel's frames marked.
    expect(sampleFrames(parsed).join(';')).toBe(
      'th-sleeper;__libc_start_call_main;main;doze_between_requests;entry_SYSCALL_64_after_hwframe_[k];do_syscall_64_[k];' +
        '__x64_sys_nanosleep_[k];hrtimer_nanosleep_[k];do_nanosleep_[k];schedule_[k];__schedule_[k]',
    );
  });

  it('reads every key of the recorded profiles and off-CPU captures', () => {
    const recorded = [
      ['profile', 'node-wide.json', '@stacks'],
      ['profile', 'node-jit-pid.json', '@stacks'],
      ['offcputime', 'node-wide.json', '@us'],
      ['offcputime', 'pipe-cgroup.json', '@us'],
    ] as const;
    for (const [tool, fixture, map] of recorded) {
      const keys = recordedKeys(tool, fixture, map);
      expect(keys.length, `${tool}/${fixture}`).toBeGreaterThan(0);
      for (const key of keys) {
        const k = parseStackKey(key, { map });
        expect(k.pid, key).toBeGreaterThan(0);
        expect([...k.kernel, ...k.user].every((f) => f !== '' && !/\+\d+$/.test(f)), key).toBe(true);
      }
    }
  });

  it('names the map a key that does not follow the program came from', () => {
    expect(() => parseStackKey('42,burn', { map: '@us' })).toThrow(/^unexpected @us key \(no separator after the kernel stack\): "42,burn"$/);
    expect(() => parseStackKey(',,x,y', { map: '@kst/@ust' })).toThrow(/unexpected @kst\/@ust key \(no pid after the stacks\)/);
  });

  it("asks for the module of an unnamed outermost user frame only, with the frame's own address", () => {
    const asked: bigint[] = [];
    const moduleOf = (_pid: number, address: bigint) => {
      asked.push(address);
      return '/usr/lib/libc.so.6';
    };
    const unnamedRoot = parseStackKey(',\n    0x401000\n    0x7f0000001000\n,9,app', { map: '@stacks', resolveUser: (_p, a) => (a === 0x401000n ? 'work' : null), moduleOf });
    expect(unnamedRoot).toEqual({ kernel: [], user: ['work', '[unknown]'], pid: 9, comm: 'app', userRootModule: '/usr/lib/libc.so.6' });
    expect(asked).toEqual([0x7f0000001000n]);
    const namedRoot = parseStackKey(',\n    0x401000\n,9,app', { map: '@stacks', resolveUser: () => 'main', moduleOf });
    expect(namedRoot).not.toHaveProperty('userRootModule');
    expect(asked).toHaveLength(1);
  });

  it('gives both tools keyed by stacks the same limits, and has the agent name their user frames', () => {
    for (const tool of [profile, offcputime]) {
      expect(tool.limits, tool.name).toEqual(STACK_KEYED_LIMITS);
      expect(tool.env, tool.name).toMatchObject(AGENT_NAMES_USER_FRAMES);
    }
  });
});
