import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { offcputime } from './manifest.ts';
import { OffCpuResult } from './result.ts';
import type { ParseContext } from '../../tool.ts';
import { profileArtifacts } from '../../../src/flamegraph/artifacts.ts';
import { parseFolded, totalSamples } from '../../../src/flamegraph/folded.ts';
import { frameColor } from '../../../src/flamegraph/palette.ts';
import { NO_MORE_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('offcputime', name);
const ctx: ParseContext = { arch: 'x64', cgroupPathOf: () => null };
const parse = (stdout: string, params: { minBlockUs?: number } = {}, context: ParseContext = ctx) => {
  const parsed = offcputime.parse(stdout, offcputime.params.parse(params), context);
  if (!parsed.stacks) throw new Error('offcputime returned no folded stacks');
  return { ...parsed, files: profileArtifacts(parsed.stacks) };
};
const ARTIFACTS = ['offcpu.folded', 'offcpu-flamegraph.svg'];
const NAP_KERNEL = [
  'entry_SYSCALL_64_after_hwframe_[k]', 'do_syscall_64_[k]', '__x64_sys_nanosleep_[k]', 'hrtimer_nanosleep_[k]',
  'do_nanosleep_[k]', 'schedule_[k]', '__schedule_[k]',
];

describe('offcputime parser on recorded output', () => {
  it('sums a sleeper’s naps by stack, in µs, with the longest and the count', () => {
    const { result, files } = parse(fixture('nap-pid.json'));
    expect(OffCpuResult.parse(result)).toEqual(result);
    expect(result).toMatchObject({ unit: 'us', minBlockUs: 1000, windowMs: 2095.045, totalUs: 1931337, blockedUs: 1931383, blocks: 96, stacks: 1, unknownUs: 0, openBlocks: [] });
    expect(result.topStacks).toEqual([
      {
        pid: 16541,
        comm: 'th-sleeper',
        frames: ['__libc_start_call_main', 'main', 'doze_between_requests', ...NAP_KERNEL],
        syscall: 'nanosleep',
        blockedIn: 'do_nanosleep',
        userFrames: ['doze_between_requests', 'main', '__libc_start_call_main'],
        totalUs: 1931337,
        maxUs: 23913,
        count: 96,
        open: 0,
      },
    ]);
    // 96 naps of 20 ms asked for: the kernel's timer slack and a loaded host make each a little longer.
    expect(result.topStacks[0]!.totalUs / result.topStacks[0]!.count).toBeGreaterThan(20_000);
    expect(result.processes).toEqual([{ pid: 16541, comm: 'th-sleeper', blockedUs: 1931383, blocks: 96 }]);
    expect(result.artifacts).toEqual(ARTIFACTS);
    expect(files.map((f) => [f.file, f.contentType])).toEqual([
      ['offcpu.folded', 'text/plain; charset=utf-8'],
      ['offcpu-flamegraph.svg', 'image/svg+xml'],
    ]);
    expect(files[0]!.body).toBe(`th-sleeper;__libc_start_call_main;main;doze_between_requests;${NAP_KERNEL.join(';')} 1931337\n`);
  });

  it('keeps the reader and its feeder apart, and counts the feeder’s nap still open at the end', () => {
    const { result, files } = parse(fixture('pipe-cgroup.json'));
    expect(result.stacks).toBe(2);
    const [feeder, reader] = result.topStacks;
    expect(reader).toMatchObject({
      pid: 16580,
      syscall: 'read',
      blockedIn: 'anon_pipe_read',
      userFrames: ['raw3', 'wait_for_upstream', 'main'],
      totalUs: 2055989,
      maxUs: 57559,
      count: 41,
      open: 0,
    });
    // 41 ended naps, plus the one open when the capture ended: 89.876 ms from its start to @end.
    expect(feeder).toMatchObject({ pid: 16582, syscall: 'clock_nanosleep', blockedIn: 'do_nanosleep', totalUs: 2060415 + 89876, maxUs: 89876, count: 42, open: 1 });
    expect(result.openBlocks).toEqual([
      { tid: 16582, pid: 16582, comm: 'th-sleeper', blockedUs: 89876, syscall: 'clock_nanosleep', blockedIn: 'do_nanosleep', userFrames: ['clock_nanosleep', '__libc_start_call_main'] },
    ]);
    expect(result.processes).toEqual([
      { pid: 16582, comm: 'th-sleeper', blockedUs: 2060437 + 89876, blocks: 42 },
      { pid: 16580, comm: 'th-sleeper', blockedUs: 2056012, blocks: 41 },
    ]);
    expect(result.totalUs).toBe(reader!.totalUs + feeder!.totalUs);
    // The folded file weighs the same time as the result.
    expect(totalSamples(parseFolded(String(files[0]!.body)))).toBe(result.totalUs);
  });

  it('finds a thread that blocked during the capture and never woke', () => {
    const { result } = parse(fixture('hang-pid.json'));
    expect(result.openBlocks).toEqual([
      { tid: 16593, pid: 16593, comm: 'th-sleeper', blockedUs: 2029282, syscall: 'read', blockedIn: 'anon_pipe_read', userFrames: ['raw3', 'wait_forever', 'main'] },
    ]);
    expect(result.topStacks.map((s) => [s.userFrames[1] ?? s.userFrames[0], s.count, s.open])).toEqual([
      ['wait_forever', 1, 1],
      ['main', 1, 0],
    ]);
    expect(result.processes).toEqual([{ pid: 16593, comm: 'th-sleeper', blockedUs: 2029282 + 20068, blocks: 2 }]);
  });

  it('leaves short open blocks in the totals but out of the stacks', () => {
    const { result } = parse(fixture('hang-pid.json'), { minBlockUs: 3_000_000 });
    expect(result.openBlocks).toEqual([]);
    // The recorded sums came from a 1 ms minimum: the ended nap stays, the open block is re-judged at 3 s.
    expect(result.topStacks).toHaveLength(1);
    expect(result.blockedUs).toBe(2029282 + 20068);
  });

  it('reads a node-wide capture: kernel threads, and agent-style address frames named by the resolver', () => {
    const { result } = parse(fixture('node-wide.json'));
    expect(OffCpuResult.parse(result)).toEqual(result);
    expect(result.stacks).toBe(96);
    expect(result.topStacks).toHaveLength(20);
    expect(result.processes).toHaveLength(10);
    // Sorted, and the per-process sums include blocks shorter than 1 ms.
    expect(result.topStacks.map((s) => s.totalUs)).toEqual([...result.topStacks.map((s) => s.totalUs)].sort((a, b) => b - a));
    expect(result.blockedUs).toBeGreaterThanOrEqual(result.totalUs - result.openBlocks.reduce((n, o) => n + o.blockedUs, 0));
    // No symbols in this recording (the processes are gone): address frames are [unknown], and counted.
    expect(result.unknownUs).toBeGreaterThan(0);
    const kthread = result.topStacks.find((s) => s.frames.includes('kthread_[k]'));
    expect(kthread?.userFrames).toEqual([]);
    expect(kthread?.syscall).toBeNull();

    const asked: number[] = [];
    const named = parse(fixture('node-wide.json'), {}, { ...ctx, userSymbol: (pid) => (asked.push(pid), 'named_by_agent') }).result;
    expect(asked.length).toBeGreaterThan(0);
    expect(named.unknownUs).toBe(0);
    expect(named.topStacks.some((s) => s.userFrames.includes('named_by_agent'))).toBe(true);
  });

  it('reports nothing blocked when bpftrace printed only the window', () => {
    const { result, files } = parse(fixture('no-events.json'));
    expect(result).toEqual({
      unit: 'us', minBlockUs: 1000, windowMs: 1390.667, totalUs: 0, blockedUs: 0, blocks: 0, stacks: 0, unknownUs: 0,
      topStacks: [], processes: [], openBlocks: [], artifacts: ARTIFACTS,
    });
    expect(files[0]!.body).toBe('');
    expect(String(files[1]!.body)).toContain('No stack counts found');
  });

  it('names open blocks’ user addresses through the resolver too', () => {
    const stdout = [
      { '@begin': 1_000_000 },
      { '@end': 5_000_000_000 },
      { '@start': { '77': 2_000_000_000 } },
      { '@kst': { '77': '\n        __schedule+1\n        schedule+2\n        futex_do_wait+3\n        __x64_sys_futex+4\n' } },
      { '@ust': { '77': '\n        0x401000\n        0x401100\n' } },
      { '@tgid': { '77': 70 } },
      { '@comm': { '77': 'worker,1' } },
    ].map((data) => JSON.stringify({ type: 'map', data })).join('\n');
    const seen: [number, bigint][] = [];
    const { result } = parse(stdout, {}, { ...ctx, userSymbol: (pid, a) => (seen.push([pid, a]), a === 0x401000n ? 'lock_the_cache' : null) });
    expect(result.openBlocks).toEqual([
      { tid: 77, pid: 70, comm: 'worker,1', blockedUs: 3_000_000, syscall: 'futex', blockedIn: 'futex_do_wait', userFrames: ['lock_the_cache'] },
    ]);
    // The leaf as is, callers one byte before their return address (as in profile).
    expect(seen).toEqual([[70, 0x401000n], [70, 0x4010ffn]]);
    expect(result.windowMs).toBe(4999);
  });

  it('refuses output that is not what the program prints', () => {
    expect(() => parse(fixture('nap-pid.json').slice(0, 300))).toThrow(/not JSON/);
    expect(() => parse(JSON.stringify({ type: 'map', data: { '@us': { x: 'y' } } }))).toThrow(/@us is not what the program prints/);
    expect(() => parse(JSON.stringify({ type: 'map', data: { '@blocked_ns': { 'no-pid': 5 } } }))).toThrow(/per-process key/);
  });
});

describe('the off-CPU flame graph', () => {
  it('tells widths as time, in its own blue palette, under its own name', () => {
    const { files } = parse(fixture('pipe-cgroup.json'));
    const svg = String(files[1]!.body);
    expect(svg).toContain('Off-CPU time');
    expect(svg).toContain('4.21 s blocked, summed over threads, in a 2.2 s capture; blocks of 1 ms or more');
    expect(svg).toMatch(/<title>wait_for_upstream \(2\.06 s, 48\.88%\)<\/title>/);
    expect(svg).not.toMatch(/<title>[^<]*samples/);
    // User frames io blue, kernel frames the paler off-CPU blue: no warm colour anywhere.
    expect(svg).toContain(`fill="${frameColor('wait_for_upstream', 'offcpu')}"`);
    expect(svg).toContain(`fill="${frameColor('anon_pipe_read_[k]', 'offcpu')}"`);
    const frames = [...svg.matchAll(/<title>(?!all )[^<]*<\/title><rect [^>]*fill="rgb\((\d+),(\d+),(\d+)\)"/g)];
    expect(frames.length).toBeGreaterThan(10);
    for (const [, r, , b] of frames) expect(Number(b)).toBeGreaterThan(Number(r));
  });
});

describe('offcputime manifest', () => {
  it('defaults the minimum block to 1 ms and bounds it', () => {
    expect(offcputime.params.parse({})).toEqual({ minBlockUs: 1000 });
    expect(offcputime.params.parse({ minBlockUs: 0 })).toEqual({ minBlockUs: 0 });
    expect(offcputime.params.safeParse({ minBlockUs: -1 }).success).toBe(false);
    expect(offcputime.params.safeParse({ minBlockUs: 10_000_001 }).success).toBe(false);
    expect(offcputime.params.safeParse({ minBlockUs: 1.5 }).success).toBe(false);
    expect(offcputime.params.safeParse({ minBlockUs: '1000' }).success).toBe(false);
    expect(offcputime.params.safeParse({ pid: 1 }).success).toBe(false);
  });

  it('passes the minimum block, cgroup ids and pid as numbers', () => {
    expect(offcputime.args({ minBlockUs: 1000 }, { cgroupIds: [], pid: 5842 })).toEqual(['1000', '0', '5842', ...NO_MORE_CGROUPS]);
    expect(offcputime.args({ minBlockUs: 0 }, { cgroupIds: [63, 64], pid: 0 })).toEqual(['0', '63', '0', '64', '0', '0', '0', '0', '0', '0']);
  });

  it('points at its program, bounds its maps and symbolizes user frames itself', () => {
    const program = readFileSync(offcputime.programFile, 'utf8');
    expect(program).toContain('tracepoint:sched:sched_switch');
    expect(program).toContain('tracepoint:sched:sched_wakeup');
    expect(offcputime.env).toEqual({ BPFTRACE_NO_USER_SYMBOLS: '1', BPFTRACE_MAP_KEYS_MAX: '8192' });
    expect(offcputime.requires).toEqual([
      { kind: 'bpftrace' },
      { kind: 'tracepoint', name: 'sched/sched_switch' },
      { kind: 'tracepoint', name: 'sched/sched_wakeup' },
    ]);
  });
});
