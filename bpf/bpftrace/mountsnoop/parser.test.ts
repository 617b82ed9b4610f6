import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { flagNames } from './flags.ts';
import { mountsnoop } from './manifest.ts';
import { parseCallKey } from './parser.ts';
import { MountsnoopResult } from './result.ts';
import type { ParseContext } from '../../tool.ts';
import { assertBpf, bpfSuiteName, skipBpf, runProgramBriefly } from '../../../test/helpers/bpf.ts';
import { NO_MORE_CGROUPS, UNUSED_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { recordingContext, toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('mountsnoop', name);

/** binds-and-lazy-unmounts.json ran in test cgroup /th-mountsnoop (id 842), mount-max-enospc.json in id 861. */
const context = () => recordingContext({ 842: '/th-mountsnoop', 861: '/th-mountsnoop' });

const parse = (stdout: string, params: object = {}, ctx: ParseContext = context()) =>
  mountsnoop.parse(stdout, mountsnoop.params.parse(params), ctx).result;

const mapLines = (maps: Record<string, Record<string, number>>): string =>
  `{"type": "attached_probes", "data": {"probes": 9}}\n\n\n{"type": "map", "data": {"@complete": 1}}\n` +
  Object.entries(maps)
    .map(([name, entries]) => `${JSON.stringify({ type: 'map', data: { [name]: entries } })}\n`)
    .join('');

describe('mountsnoop parser on recorded output', () => {
  it('reads binds, recursive binds, lazy unmounts and failures in a private mount namespace', () => {
    const ctx = context();
    const result = parse(fixture('binds-and-lazy-unmounts.json'), {}, ctx);
    expect(MountsnoopResult.parse(result)).toEqual(result);
    const row = (syscall: string, flags: string[], errno: string | null, pid: number, comm: string) => ({
      syscall, flags, errno, pid, comm, cgroupId: 842, cgroup: '/th-mountsnoop', count: 1,
    });
    expect(result.rows).toEqual([
      row('mount', [], null, 27988, 'mount'),
      row('mount', [], null, 27990, 'mount'),
      row('mount', ['MS_BIND'], null, 27991, 'mount'),
      row('mount', ['MS_BIND', 'MS_REC'], null, 27992, 'mount'),
      row('mount', ['MS_BIND', 'MS_REC'], null, 27993, 'mount'),
      row('mount', ['MS_BIND', 'MS_REC'], null, 27994, 'mount'),
      row('mount', ['MS_BIND', 'MS_REC'], null, 28009, 'mount'),
      row('mount', ['MS_RDONLY', 'MS_REMOUNT', 'MS_BIND', 'MS_RELATIME'], null, 27997, 'mount'),
      row('mount', ['MS_REC', 'MS_PRIVATE'], null, 27986, 'unshare'),
      row('mount', ['MS_REC', 'MS_PRIVATE'], null, 27995, 'mount'),
      row('mount', ['MS_SHARED'], null, 27996, 'mount'),
      row('mount', [], 'ENODEV', 28006, 'mount'),
      row('mount', ['MS_BIND'], 'ENOENT', 28005, 'mount'),
      row('move_mount', ['MOVE_MOUNT_F_EMPTY_PATH'], null, 27998, 'bind-tree'),
      row('open_tree', ['OPEN_TREE_CLONE', 'AT_RECURSIVE', 'OPEN_TREE_CLOEXEC'], null, 27998, 'bind-tree'),
      row('open_tree', ['OPEN_TREE_CLONE', 'AT_RECURSIVE', 'OPEN_TREE_CLOEXEC'], 'ENOENT', 27999, 'bind-tree'),
      row('umount2', [], null, 28004, 'umount'),
      row('umount2', ['MNT_DETACH'], null, 28000, 'umount'),
      row('umount2', ['MNT_DETACH'], null, 28001, 'umount'),
      row('umount2', ['MNT_DETACH'], null, 28002, 'umount'),
      row('umount2', ['MNT_DETACH'], null, 28003, 'umount'),
      row('umount2', ['MNT_DETACH'], null, 28010, 'umount'),
      row('umount2', ['MNT_FORCE'], null, 28011, 'umount'),
      row('umount2', [], 'EINVAL', 28007, 'umount'),
    ]);
    expect(result.summary).toEqual({
      calls: 24,
      failed: 4,
      failuresByErrno: [{ errno: 'ENOENT', count: 2 }, { errno: 'EINVAL', count: 1 }, { errno: 'ENODEV', count: 1 }],
      binds: 1,
      // 4 × mount --rbind, 1 × open_tree(OPEN_TREE_CLONE|AT_RECURSIVE); the read-only remount of a bind is not one.
      recursiveBinds: 5,
      unmounts: 7,
      lazyUnmounts: 5,
    });
    // 33 path keys in the map: 6 are empty (no source) and dropped; the top 20 remain.
    expect(result.distinctPaths).toBe(27);
    expect(result.paths).toHaveLength(20);
    expect(result.paths.slice(0, 6)).toEqual([
      { syscall: 'mount', role: 'source', path: '/tmp/th-ms/src', errno: null, count: 5 },
      { syscall: 'mount', role: 'source', path: 'none', errno: null, count: 3 },
      { syscall: 'mount', role: 'source', path: 'th-src', errno: null, count: 2 },
      { syscall: 'mount', role: 'target', path: '/tmp/th-ms/b1', errno: null, count: 2 },
      { syscall: 'mount', role: 'target', path: '/tmp/th-ms/r1', errno: null, count: 2 },
      { syscall: 'mount', role: 'target', path: '/tmp/th-ms/r2', errno: null, count: 2 },
    ]);
    expect(result.paths.every((p) => p.path !== '')).toBe(true);
    expect([...ctx.lookups]).toEqual([842]);
  });

  it('keeps commas in paths and names the failing targets', () => {
    const result = parse(fixture('binds-and-lazy-unmounts.json'), { maxPaths: 500 });
    expect(result.paths).toHaveLength(27);
    expect(result.paths).toContainEqual({ syscall: 'mount', role: 'target', path: '/tmp/th-ms/c,1', errno: null, count: 1 });
    expect(result.paths).toContainEqual({ syscall: 'umount2', role: 'target', path: '/tmp/th-ms/c,1', errno: null, count: 1 });
    expect(result.paths.filter((p) => p.errno !== null)).toEqual([
      { syscall: 'mount', role: 'source', path: '/tmp/th-ms/nowhere', errno: 'ENOENT', count: 1 },
      { syscall: 'mount', role: 'source', path: 'none', errno: 'ENODEV', count: 1 },
      { syscall: 'mount', role: 'target', path: '/tmp/th-ms/b2', errno: 'ENODEV', count: 1 },
      { syscall: 'mount', role: 'target', path: '/tmp/th-ms/b2', errno: 'ENOENT', count: 1 },
      { syscall: 'open_tree', role: 'source', path: '/tmp/th-ms/nowhere', errno: 'ENOENT', count: 1 },
      { syscall: 'umount2', role: 'target', path: 'b2', errno: 'EINVAL', count: 1 },
    ]);
    // The open_tree + move_mount pair of `bind-tree src t1`: relative paths, as the caller passed them.
    expect(result.paths).toContainEqual({ syscall: 'open_tree', role: 'source', path: 'src', errno: null, count: 1 });
    expect(result.paths).toContainEqual({ syscall: 'move_mount', role: 'target', path: 't1', errno: null, count: 1 });
  });

  it('reads recursive binds refused with ENOSPC under a lowered fs.mount-max', () => {
    const result = parse(fixture('mount-max-enospc.json'));
    expect(result.rows).toHaveLength(13);
    expect(result.rows.filter((r) => r.errno !== null)).toEqual([
      { syscall: 'mount', flags: ['MS_BIND', 'MS_REC'], errno: 'ENOSPC', pid: 28148, comm: 'mount', cgroupId: 861, cgroup: '/th-mountsnoop', count: 1 },
    ]);
    expect(result.rows.filter((r) => r.flags.join('|') === 'MS_BIND|MS_REC' && r.errno === null).map((r) => r.pid)).toEqual([
      28132, 28134, 28136, 28138, 28140, 28142, 28144, 28146,
    ]);
    expect(result.summary).toEqual({
      calls: 13,
      failed: 1,
      failuresByErrno: [{ errno: 'ENOSPC', count: 1 }],
      binds: 0,
      recursiveBinds: 8,
      unmounts: 1,
      lazyUnmounts: 1,
    });
    expect(result.paths.slice(0, 2)).toEqual([
      { syscall: 'mount', role: 'source', path: '/tmp/th-ms/src', errno: null, count: 8 },
      { syscall: 'mount', role: 'source', path: '/tmp/th-ms/src', errno: 'ENOSPC', count: 1 },
    ]);
    expect(result.paths).toContainEqual({ syscall: 'mount', role: 'target', path: '/tmp/th-ms/r9', errno: 'ENOSPC', count: 1 });
    expect(result.distinctPaths).toBe(18);
  });

  it('reports nothing when bpftrace printed only the completion marker', () => {
    expect(parse(fixture('no-calls.json'))).toEqual({
      rows: [],
      paths: [],
      distinctPaths: 0,
      summary: { calls: 0, failed: 0, failuresByErrno: [], binds: 0, recursiveBinds: 0, unmounts: 0, lazyUnmounts: 0 },
    });
  });
});

describe('mountsnoop parser edge cases', () => {
  it('decodes flags per syscall, with the old magic and unknown bits', () => {
    expect(flagNames('mount', 0xc0ed0000n | 0x1000n)).toEqual(['MS_MGC_VAL', 'MS_BIND']);
    expect(flagNames('mount', 0x40000000n | 0x4000n)).toEqual(['MS_REC', '0x40000000']);
    expect(flagNames('umount2', 0xfn)).toEqual(['MNT_FORCE', 'MNT_DETACH', 'MNT_EXPIRE', 'UMOUNT_NOFOLLOW']);
    // The same bit means different things to different calls.
    expect(flagNames('umount2', 0x2n)).toEqual(['MNT_DETACH']);
    expect(flagNames('mount', 0x2n)).toEqual(['MS_NOSUID']);
    expect(flagNames('move_mount', 0x204n)).toEqual(['MOVE_MOUNT_F_EMPTY_PATH', 'MOVE_MOUNT_BENEATH']);
    expect(flagNames('open_tree', 0n)).toEqual([]);
    // A negative int passed to umount2 arrives sign-extended.
    expect(flagNames('umount2', 0xffffffffffffffffn)).toEqual(['MNT_FORCE', 'MNT_DETACH', 'MNT_EXPIRE', 'UMOUNT_NOFOLLOW', '0xfffffffffffffff0']);
  });

  it('keeps commas and spaces in comm', () => {
    expect(parseCallKey('2,2,0,7,1,a,b c')).toEqual({ syscall: 'umount2', flags: 2n, errno: 0, pid: 7, cgroupId: 1, comm: 'a,b c' });
    const result = parse(mapLines({ '@calls': { '1,20480,28,9,5,run,c': 3 } }));
    expect(result.rows).toEqual([{ syscall: 'mount', flags: ['MS_BIND', 'MS_REC'], errno: 'ENOSPC', pid: 9, comm: 'run,c', cgroupId: 5, cgroup: null, count: 3 }]);
  });

  it('orders ties deterministically and cuts paths to maxPaths', () => {
    const out = mapLines({
      '@calls': { '2,2,0,9,1,b': 2, '1,4096,0,9,1,a': 2, '1,20480,0,8,1,a': 2, '1,4096,28,8,1,a': 2, '1,4096,0,8,1,a': 2 },
      '@paths': { '1,0,0,/b': 1, '1,0,0,/a': 1, '1,1,0,/z': 3, '2,0,0,/a': 1, '1,0,28,/a': 1 },
    });
    const result = parse(out, { maxPaths: 3 });
    expect(result.rows.map((r) => `${r.syscall}/${r.flags.join('|')}/${r.errno}/${r.pid}`)).toEqual([
      'mount/MS_BIND/null/8',
      'mount/MS_BIND/null/9',
      'mount/MS_BIND|MS_REC/null/8',
      'mount/MS_BIND/ENOSPC/8',
      'umount2/MNT_DETACH/null/9',
    ]);
    expect(result.paths.map((p) => `${p.syscall}/${p.role}/${p.path}/${p.errno}`)).toEqual([
      'mount/source//z/null',
      'mount/target//a/null',
      'mount/target//a/ENOSPC',
    ]);
    expect(result.distinctPaths).toBe(5);
  });

  it('is empty for empty output', () => {
    expect(parse('').rows).toEqual([]);
  });

  it('refuses truncated output and malformed keys', () => {
    expect(() => parse(fixture('mount-max-enospc.json').slice(0, -40))).toThrow(/line 6 is not JSON/);
    expect(() => parse(mapLines({ '@calls': { '5,0,0,1,1,x': 1 } }))).toThrow(/unknown call code 5/);
    expect(() => parse(mapLines({ '@calls': { '1,0,0,1,x': 1 } }))).toThrow(/expected "call,flags,errno,pid,cgroup,comm"/);
    expect(() => parse(mapLines({ '@paths': { '1,2,0,/x': 1 } }))).toThrow(/expected "call,role,errno,path"/);
  });
});

describe('mountsnoop manifest', () => {
  it('validates params strictly', () => {
    expect(mountsnoop.params.parse({})).toEqual({ maxPaths: 20 });
    expect(mountsnoop.params.parse({ maxPaths: 5 })).toEqual({ maxPaths: 5 });
    expect(mountsnoop.params.safeParse({ maxPaths: 0 }).success).toBe(false);
    expect(mountsnoop.params.safeParse({ maxPaths: 1.5 }).success).toBe(false);
    expect(mountsnoop.params.safeParse({ path: '/' }).success).toBe(false);
  });

  it('passes cgroup ids and pid as numbers, and refuses anything else', () => {
    expect(mountsnoop.args({ maxPaths: 20 }, { cgroupIds: [842], pid: 0 })).toEqual(['842', '0', ...NO_MORE_CGROUPS]);
    expect(mountsnoop.args({ maxPaths: 20 }, { cgroupIds: [], pid: 4242 })).toEqual(['0', '4242', ...NO_MORE_CGROUPS]);
    expect(() => mountsnoop.args({ maxPaths: 20 }, { cgroupIds: [-1], pid: 0 })).toThrow(/cgroup id/);
    expect(() => mountsnoop.args({ maxPaths: 20 }, { cgroupIds: [], pid: 1.5 })).toThrow(/pid/);
    // Several cgroups (the containers of the target pods): the first keeps its place, the others go last.
    expect(mountsnoop.args({ maxPaths: 20 }, { cgroupIds: [63, 64], pid: 0 })).toEqual(['63', '0', '64', '0', '0', '0', '0', '0', '0']);
    expect(() => mountsnoop.args({ maxPaths: 20 }, { cgroupIds: [1, 2, 3, 4, 5, 6, 7, 8, 9], pid: 0 })).toThrow(/at most 8 cgroup ids/);
  });

  it('points at its program and declares what it needs', () => {
    const program = readFileSync(mountsnoop.programFile, 'utf8');
    for (const call of ['mount', 'umount', 'open_tree', 'move_mount']) {
      expect(program).toContain(`tracepoint:syscalls:sys_enter_${call}\n`);
      expect(program).toContain(`tracepoint:syscalls:sys_exit_${call}`);
      expect(mountsnoop.requires).toContainEqual({ kind: 'tracepoint', name: `syscalls/sys_enter_${call}` });
      expect(mountsnoop.requires).toContainEqual({ kind: 'tracepoint', name: `syscalls/sys_exit_${call}` });
    }
    expect(mountsnoop.env).toEqual({ BPFTRACE_STRLEN: '200' });
    expect(mountsnoop.limits).toEqual({ minDurationMs: 1000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 });
  });
});

describe.skipIf(skipBpf)(bpfSuiteName('mountsnoop program'), () => {
  beforeAll(() => assertBpf());

  it('loads within the BPF stack limit and prints the completion marker', async () => {
    // The paths' 200-byte strings are what brings the exit probe near the 512-byte stack.
    const run = await runProgramBriefly(mountsnoop, mountsnoop.args({ maxPaths: 20 }, UNUSED_CGROUPS));
    const out = run.stdout;
    expect(out, run.stderr).toContain('"attached_probes"');
    expect(parse(out).rows).toEqual([]);
  });
});
