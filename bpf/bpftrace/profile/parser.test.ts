import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { profile } from './manifest.ts';
import { cleanFrame, isTruncated, parseSampleKey, sampleFrames, USER_STACK_LIMIT } from './parser.ts';
import type { ParseContext } from '../../tool.ts';
import { ProfileResult, type ProcessFacts } from './result.ts';
import { profileArtifacts } from '../../../src/flamegraph/artifacts.ts';
import { parseFolded, totalSamples } from '../../../src/flamegraph/folded.ts';
import { NO_MORE_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { fromPprof } from '../../../src/flamegraph/pprof.ts';
import { toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('profile', name);

const ctx: ParseContext = { arch: 'x64', cgroupPathOf: () => null };
/** The manifest's parse, then the files the agent makes of its folded stacks (src/flamegraph/artifacts.ts). */
const parse = (stdout: string, hz = 99) => {
  const parsed = profile.parse(stdout, profile.params.parse({ hz }), ctx);
  if (!parsed.stacks) throw new Error('profile returned no folded stacks');
  return { ...parsed, extraArtifacts: [...parsed.extraArtifacts, ...profileArtifacts(parsed.stacks)] };
};

const mapLine = (entries: Record<string, number>): string =>
  `${JSON.stringify({ type: 'map', data: { '@complete': 1 } })}\n${JSON.stringify({ type: 'map', data: { '@stacks': entries } })}\n`;

const ARTIFACTS = ['stacks.folded', 'flamegraph.svg', 'profile.speedscope.json', 'profile.pb.gz'];

function foldedOf(stdout: string): string {
  const { extraArtifacts } = parse(stdout);
  expect(extraArtifacts.map((a) => a.file)).toEqual(ARTIFACTS);
  return String(extraArtifacts[0]?.body ?? '');
}

describe('profile parser on recorded output', () => {
  it('profiles the CPU burner by pid', () => {
    const { result, extraArtifacts } = parse(fixture('burner-pid.json'));
    expect(result.samples).toBe(288);
    expect(result.hz).toBe(99);
    expect(result.artifacts).toEqual(ARTIFACTS);
    expect(result.topFunctions).toHaveLength(20);
    expect(result.topFunctions[0]).toEqual({ name: 'crunch_alpha', self: 192 / 288, total: 192 / 288 });
    expect(result.topFunctions[1]).toEqual({ name: 'crunch_beta', self: 47 / 288, total: 47 / 288 });
    expect(result.topFunctions).toContainEqual(expect.objectContaining({ name: 'do_syscall_64_[k]', self: 9 / 288 }));
    expect(result.processes).toEqual([{ pid: 9272, comm: 'burn', samples: 288 }]);
    expect(ProfileResult.parse(result)).toEqual(result);

    expect(extraArtifacts.map((a) => [a.file, a.contentType])).toEqual([
      ['stacks.folded', 'text/plain; charset=utf-8'],
      ['flamegraph.svg', 'image/svg+xml'],
      ['profile.speedscope.json', 'application/json'],
      ['profile.pb.gz', 'application/gzip'],
    ]);
    // The flamegraph and the exports are of the same profile: the hot function is in each.
    expect(String(extraArtifacts[1]!.body)).toContain('crunch_alpha');
    expect(JSON.parse(String(extraArtifacts[2]!.body)).shared.frames).toContainEqual({ name: 'crunch_alpha' });
    expect(fromPprof(extraArtifacts[3]!.body as Buffer)).toContain(';crunch_alpha 192');
    const body = String(extraArtifacts[0]?.body ?? '');
    const lines = body.trimEnd().split('\n');
    expect(lines).toHaveLength(16);
    expect(lines).toContain('burn;__libc_start_call_main;main;crunch_alpha 192');
    expect(lines).toContain('burn;__libc_start_call_main;main;crunch_beta 47');
    expect(lines).toContain(
      'burn;__libc_start_call_main;main;work;fstatat;entry_SYSCALL_64_after_hwframe_[k];do_syscall_64_[k] 9',
    );
    expect(lines.every((l) => l.startsWith('burn;'))).toBe(true);
    expect(body).not.toMatch(/\+\d/);
    expect(totalSamples(parseFolded(body))).toBe(288);
  });

  it('profiles the whole node, kernel threads and unresolved frames included', () => {
    const { result } = parse(fixture('node-wide.json'));
    expect(result.samples).toBe(566);
    // dd's frames have no symbols in this recording: those samples are counted.
    const unknown = foldedOf(fixture('node-wide.json'))
      .split('\n')
      .filter((l) => l.includes('[unknown]'))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(unknown).toBeGreaterThan(0);
    expect(result.unknownSamples).toBe(unknown);
    expect(result.topFunctions[0]).toEqual({ name: 'crunch_alpha', self: 190 / 566, total: 190 / 566 });
    expect(result.topFunctions[1]).toEqual({ name: 'chacha_permute_[k]', self: 188 / 566, total: 188 / 566 });

    const stacks = parseFolded(foldedOf(fixture('node-wide.json')));
    const byComm = new Map<string, number>();
    for (const s of stacks) byComm.set(s.frames[0] ?? '', (byComm.get(s.frames[0] ?? '') ?? 0) + s.count);
    expect(Object.fromEntries(byComm)).toEqual({ burn: 281, dd: 284, 'kdamond.0': 1 });
    // Who burns the CPU, by pid, most first: the same counts as the stacks' roots.
    expect(result.processes).toEqual([
      { pid: 9349, comm: 'dd', samples: 284 },
      { pid: 9345, comm: 'burn', samples: 281 },
      { pid: 77, comm: 'kdamond.0', samples: 1 },
    ]);

    // A kernel thread: empty user stack, so the kernel frames follow the comm directly.
    expect(stacks).toContainEqual({
      frames: [
        'kdamond.0',
        'ret_from_fork_asm_[k]',
        'ret_from_fork_[k]',
        'kthread_[k]',
        'kdamond_fn_[k]',
        'damon_pa_prepare_access_checks_[k]',
        '__damon_get_folio_[k]',
        'pfn_to_online_page_[k]',
      ],
      count: 1,
    });
    // dd's libc frame had no symbol: recorded as 0x7f836e84c2ad.
    expect(stacks).toContainEqual({
      frames: [
        'dd',
        '[unknown]',
        'entry_SYSCALL_64_after_hwframe_[k]',
        'do_syscall_64_[k]',
        'ksys_read_[k]',
        'vfs_read_[k]',
        'get_random_bytes_user_[k]',
        'chacha_block_generic_[k]',
        'chacha_permute_[k]',
      ],
      count: 180,
    });
  });

  it('reports no samples when bpftrace printed only the completion marker', () => {
    const { result, extraArtifacts } = parse(fixture('no-samples.json'), 49);
    expect(result).toEqual({
      samples: 0, hz: 49, unknownSamples: 0, truncatedSamples: 0, topFunctions: [], processes: [], symbolization: [], artifacts: ARTIFACTS,
    });
    expect(extraArtifacts[0]).toEqual({ file: 'stacks.folded', contentType: 'text/plain; charset=utf-8', body: '' });
    expect(String(extraArtifacts[1]!.body)).toContain('No stack counts found');
  });

  it('produces the same folded file every time', () => {
    expect(foldedOf(fixture('node-wide.json'))).toBe(foldedOf(fixture('node-wide.json')));
  });
});

describe('parseSampleKey', () => {
  it('reads kernel stack, user stack, pid and comm', () => {
    const key = '\n    security_inode_getattr+13\n    vfs_fstat+51\n,\n    0x7fbf04a1ba96\n    main+9\n,91,memfd:sealed-91';
    expect(parseSampleKey(key)).toEqual({
      kernel: ['security_inode_getattr', 'vfs_fstat'],
      user: ['[unknown]', 'main'],
      pid: 91,
      comm: 'memfd:sealed-91',
    });
  });

  it('handles an empty kernel stack', () => {
    expect(parseSampleKey(',\n    crunch_alpha+29\n    main+9\n,5842,burn')).toEqual({
      kernel: [], user: ['crunch_alpha', 'main'], pid: 5842, comm: 'burn',
    });
  });

  it('handles an empty user stack', () => {
    expect(parseSampleKey('\n    worker_thread+5\n    kthread+248\n,,42,kworker/0:1')).toEqual({
      kernel: ['worker_thread', 'kthread'], user: [], pid: 42, comm: 'kworker/0:1',
    });
  });

  it('handles both stacks empty', () => {
    expect(parseSampleKey(',,7,x')).toEqual({ kernel: [], user: [], pid: 7, comm: 'x' });
  });

  it('keeps commas in comm and in frames', () => {
    const key = ',\n    std::map<int, int>::find(int const&)+12\n    main+3\n,100,a,b,,c';
    expect(parseSampleKey(key)).toEqual({
      kernel: [], user: ['std::map<int, int>::find(int const&)', 'main'], pid: 100, comm: 'a,b,,c',
    });
  });

  it('accepts an empty comm, or one that looks like a key', () => {
    expect(parseSampleKey(',,1,')).toEqual({ kernel: [], user: [], pid: 1, comm: '' });
    expect(parseSampleKey(',,1,2,3\n    f+1\n')).toEqual({ kernel: [], user: [], pid: 1, comm: '2,3\n    f+1\n' });
  });

  it('names user addresses through the resolver, with the pid of the sample', () => {
    const key = '\n    vfs_fstat+51\n,\n    0x55a3b4908151\n    0x7fecc582724a\n,14037,th-burner';
    const seen: [number, bigint][] = [];
    const resolve = (pid: number, addr: bigint) => {
      seen.push([pid, addr]);
      return addr === 0x55a3b4908151n ? 'crunch_alpha' : null;
    };
    expect(parseSampleKey(key, resolve)).toEqual({ kernel: ['vfs_fstat'], user: ['crunch_alpha', '[unknown]'], pid: 14037, comm: 'th-burner' });
    // The leaf is the sampled instruction; callers are looked up one byte before their return address.
    expect(seen).toEqual([[14037, 0x55a3b4908151n], [14037, 0x7fecc5827249n]]);
  });

  it('refuses keys that do not follow the program', () => {
    expect(() => parseSampleKey('')).toThrow(/no separator after the kernel stack/);
    expect(() => parseSampleKey('\n    f+1\n')).toThrow(/no separator after the kernel stack/);
    expect(() => parseSampleKey('\n    f+1')).toThrow(/without a line break/);
    expect(() => parseSampleKey(',\n    f+1\n')).toThrow(/no separator after the user stack/);
    expect(() => parseSampleKey(',,burn')).toThrow(/no pid/);
    expect(() => parseSampleKey('42,burn')).toThrow(/unexpected @stacks key/);
  });
});

describe('cleanFrame', () => {
  it('drops offsets and names unresolved addresses', () => {
    expect(cleanFrame('    vfs_fstat+51')).toBe('vfs_fstat');
    expect(cleanFrame('func+0x1a')).toBe('func');
    expect(cleanFrame('0x7fbf04a1ba96')).toBe('[unknown]');
    expect(cleanFrame('0xffffffff81000000')).toBe('[unknown]');
    expect(cleanFrame('')).toBe('[unknown]');
  });

  it('leaves symbols alone that merely look like numbers or operators', () => {
    expect(cleanFrame('bad+3')).toBe('bad');
    expect(cleanFrame('cafe')).toBe('cafe');
    expect(cleanFrame('operator+')).toBe('operator+');
    expect(cleanFrame('operator++12')).toBe('operator+');
    expect(cleanFrame('[unknown]')).toBe('[unknown]');
  });
});

describe('sampleFrames', () => {
  it('orders root first: comm, user frames, then kernel frames marked _[k]', () => {
    expect(sampleFrames({ kernel: ['leafk', 'rootk'], user: ['leafu', 'rootu'], pid: 1, comm: 'app' })).toEqual([
      'app', 'rootu', 'leafu', 'rootk_[k]', 'leafk_[k]',
    ]);
  });
});

describe('profile parser edge cases', () => {
  it('merges samples of different pids with the same comm and stacks', () => {
    const body = foldedOf(mapLine({ ',\n    spin+1\n,10,app': 2, ',\n    spin+7\n,11,app': 3, ',,12,app': 1 }));
    expect(body).toBe('app 1\napp;spin 5\n');
  });

  it('keeps comm with commas and semicolons in one frame', () => {
    expect(foldedOf(mapLine({ ',\n    f+1\n,10,a,b;c': 4 }))).toBe('a,b:c;f 4\n');
  });

  it('refuses truncated output', () => {
    expect(() => parse(fixture('burner-pid.json').slice(0, 500))).toThrow(/not JSON/);
  });
});

describe('profile manifest', () => {
  it('defaults hz to 99 and bounds it', () => {
    expect(profile.params.parse({})).toEqual({ hz: 99 });
    expect(profile.params.parse({ hz: 999 })).toEqual({ hz: 999 });
    expect(profile.params.safeParse({ hz: 0 }).success).toBe(false);
    expect(profile.params.safeParse({ hz: 1000 }).success).toBe(false);
    expect(profile.params.safeParse({ hz: 49.5 }).success).toBe(false);
    expect(profile.params.safeParse({ hz: 99, pid: 1 }).success).toBe(false);
  });

  it('passes hz, cgroup ids and pid as numbers', () => {
    expect(profile.args({ hz: 99 }, { cgroupIds: [], pid: 5842 })).toEqual(['99', '0', '5842', ...NO_MORE_CGROUPS]);
    expect(profile.args({ hz: 49 }, { cgroupIds: [63], pid: 0 })).toEqual(['49', '63', '0', ...NO_MORE_CGROUPS]);
    expect(() => profile.args({ hz: 99 }, { cgroupIds: [], pid: -5 })).toThrow(/pid/);
    // Several cgroups (the containers of the target pods): the first keeps its place, the others go last.
    expect(profile.args({ hz: 99 }, { cgroupIds: [63, 64], pid: 0 })).toEqual(['99', '63', '0', '64', '0', '0', '0', '0', '0', '0']);
    expect(() => profile.args({ hz: 99 }, { cgroupIds: [1, 2, 3, 4, 5, 6, 7, 8, 9], pid: 0 })).toThrow(/at most 8 cgroup ids/);
  });

  it('points at its program', () => {
    expect(readFileSync(profile.programFile, 'utf8')).toContain('profile:hz:$1');
    expect(profile.requires).toEqual([{ kind: 'bpftrace' }, { kind: 'perf-events' }]);
  });
});

describe('truncated stacks and per-process symbolization', () => {
  const facts = (over: Partial<ProcessFacts> = {}): ProcessFacts => ({
    exe: '/usr/bin/python3.11', runtime: 'python', runtimeVersion: '3.11', perfMap: 'missing', perfMapEntries: 0, perfMapFrames: 0, ...over,
  });

  it('tells stacks that reach a thread root from stacks cut short', () => {
    expect(isTruncated(['crunch_alpha', 'main', '__libc_start_call_main'])).toBe(false);
    expect(isTruncated(['worker', 'start_thread'])).toBe(false);
    expect(isTruncated(['_start'])).toBe(false);
    expect(isTruncated(['runtime.mallocgc', 'runtime.goexit.abi0'])).toBe(false);
    // Depth 1 in a function without frame pointers; a walk into a stale frame pointer; a named but rootless chain.
    expect(isTruncated(['_PyEval_EvalFrameDefault'])).toBe(true);
    expect(isTruncated(['_PyEval_EvalFrameDefault', '[unknown]'])).toBe(true);
    expect(isTruncated(['memcpy', 'PyObject_Call'])).toBe(true);
    // Kernel threads have no user stack; a stack at the depth limit was cut by the limit, not by frame pointers.
    expect(isTruncated([])).toBe(false);
    expect(isTruncated(Array.from({ length: USER_STACK_LIMIT }, (_, i) => `f${i}`))).toBe(false);
  });

  it('counts truncated samples apart from unknown ones, per process, with what the agent found of it', () => {
    const stdout = mapLine({
      // python: cut after one frame, and cut into an unnamed address.
      ',\n    _PyEval_EvalFrameDefault+10\n,300,python3': 6,
      ',\n    _PyEval_EvalFrameDefault+10\n    0x1\n,300,python3': 3,
      // the burner: whole stacks, one with an unnamed frame on the way.
      ',\n    crunch_alpha+1\n    main+9\n    __libc_start_call_main+122\n,400,burn': 8,
      ',\n    0x5\n    main+9\n    __libc_start_call_main+122\n,400,burn': 2,
      // a kernel thread: no user stack, not a process with symbols.
      '\n    worker_thread+5\n,,2,kworker/0:1': 1,
    });
    const asked: number[] = [];
    const ctxWithFacts: ParseContext = {
      ...ctx,
      userProcess: (pid) => {
        asked.push(pid);
        return pid === 300 ? facts() : null;
      },
    };
    const { result } = profile.parse(stdout, profile.params.parse({}), ctxWithFacts);
    expect(result.samples).toBe(20);
    expect(result.truncatedSamples).toBe(9);
    expect(result.unknownSamples).toBe(5);
    expect(asked.sort()).toEqual([300, 400]);
    expect(result.symbolization).toEqual([
      // Gone by the end of the capture: nothing is claimed about its runtime or perf map.
      { exe: null, runtime: null, runtimeVersion: null, perfMap: 'unknown', perfMapEntries: 0, perfMapFrames: 0, pid: 400, comm: 'burn', samples: 10, unknownSamples: 2, truncatedSamples: 0 },
      { ...facts(), pid: 300, comm: 'python3', samples: 9, unknownSamples: 3, truncatedSamples: 9 },
    ]);
    expect(ProfileResult.parse(result)).toEqual(result);
  });

  it('keeps whole stacks of a recorded frame-pointer build untruncated', () => {
    const { result } = parse(fixture('burner-pid.json'));
    expect(result.truncatedSamples).toBe(0);
    expect(result.symbolization).toEqual([
      { exe: null, runtime: null, runtimeVersion: null, perfMap: 'unknown', perfMapEntries: 0, perfMapFrames: 0, pid: 9272, comm: 'burn', samples: 288, unknownSamples: 0, truncatedSamples: 0 },
    ]);
  });

  it('takes an unnamed outermost frame in the C library for the thread root it is', () => {
    const key = ',\n    crunch+1\n    main+9\n    0x7f0000001000\n,400,burn';
    const libc = parseSampleKey(key, () => null, () => '/usr/lib/x86_64-linux-gnu/libc.so.6');
    expect(libc.userRootModule).toBe('/usr/lib/x86_64-linux-gnu/libc.so.6');
    expect(isTruncated(libc.user, libc.userRootModule)).toBe(false);
    expect(isTruncated(['f', '[unknown]'], '/lib/ld-musl-x86_64.so.1')).toBe(false);
    // Unnamed code anywhere else, or a named frame in libc that is no root: cut short.
    expect(isTruncated(['f', '[unknown]'], '/usr/lib/libpython3.11.so.1.0')).toBe(true);
    expect(isTruncated(['f', 'memcpy'], '/usr/lib/x86_64-linux-gnu/libc.so.6')).toBe(true);
    // Asked only for an unnamed root.
    const asked: bigint[] = [];
    parseSampleKey(',\n    0x10\n    0x20\n,1,x', (_p, a) => (a === 0x1fn ? '_start' : null), (_p, a) => {
      asked.push(a);
      return null;
    });
    expect(asked).toEqual([]);
  });

  it('counts every sample of the recorded python 3.11 as truncated when nothing names its frames', () => {
    const { result } = parse(fixture('python311-pid.json'));
    expect(result.samples).toBe(128);
    expect(result.truncatedSamples).toBe(128);
    expect(result.symbolization).toEqual([expect.objectContaining({ comm: 'python3', samples: 128, truncatedSamples: 128, perfMap: 'unknown' })]);
  });

  it('reads results recorded before truncation and symbolization were counted', () => {
    const old = { samples: 1, hz: 99, unknownSamples: 0, topFunctions: [], processes: [], artifacts: ARTIFACTS };
    expect(ProfileResult.parse(old)).toEqual(old);
  });
});
