import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { getTool, tools } from '../../index.ts';
import { descriptorSyscallArgs, syscount } from './manifest.ts';
import { MAX_FILES_PER_ROW, parseFailureKey, parseFileKey } from './parser.ts';
import type { FileResolution } from '../../failing-file.ts';
import type { ParseContext } from '../../tool.ts';
import { SyscountResult } from './result.ts';
import { NO_MORE_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { recordingContext, toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('syscount', name);

/** The fixtures were recorded with test cgroup /fixture-sc (id 63) below the root cgroup (id 1). */
const context = (arch = 'x64') => recordingContext({ 63: '/fixture-sc', 1: '/' }, arch);

const parse = (stdout: string, ctx: ParseContext = context()) => syscount.parse(stdout, syscount.params.parse({}), ctx);

const mapLine = (entries: Record<string, number>, maps: Record<string, Record<string, number>> = {}): string =>
  `{"type": "attached_probes", "data": {"probes": 2}}\n\n\n{"type": "map", "data": {"@complete": 1}}\n` +
  [{ '@failures': entries }, ...Object.entries(maps).map(([name, map]) => ({ [name]: map }))]
    .map((data) => `${JSON.stringify({ type: 'map', data })}\n`)
    .join('');

/**
 * A ParseContext that answers fileOf from a table ("pid,fd" → resolution) and records each question. The recording
 * of enospc-files.json keeps what /proc/<pid>/fd/<fd> said right after the capture, in enospc-files.fds.json.
 */
function withFiles(table: Readonly<Record<string, FileResolution>>, ctx = recordingContext({ 8176: '/fixture-sc' })) {
  const asked: string[] = [];
  const fileOf = (pid: number, fd: number): FileResolution => {
    asked.push(`${pid},${fd}`);
    const res = table[`${pid},${fd}`];
    if (res === undefined) throw new Error(`no recorded resolution for pid ${pid} fd ${fd}`);
    return res;
  };
  return { ctx: { ...ctx, fileOf }, asked };
}

describe('syscount parser on recorded output', () => {
  it('reads the ENOSPC capture filtered to one cgroup', () => {
    const { result, extraArtifacts } = parse(fixture('enospc-cgroup.json'));
    const row = (syscall: string, pid: number, comm: string, count: number) => ({
      syscall, errno: 'ENOSPC', comm, pid, cgroupId: 63, cgroup: '/fixture-sc', pod: null, count, files: [],
    });
    expect(result).toEqual({
      rows: [
        row('write', 9032, 'fill,er', 5),
        row('write', 9033, 'fill,er', 5),
        row('fallocate', 9032, 'fill,er', 3),
        row('fallocate', 9033, 'fill,er', 3),
        row('pwrite64', 9032, 'fill,er', 2),
        row('pwrite64', 9033, 'fill,er', 2),
        row('write', 9030, 'dd', 1),
        row('write', 9031, 'dd', 1),
      ],
      totalEvents: 22,
    });
    expect(extraArtifacts).toEqual([]);
    expect(SyscountResult.parse(result)).toEqual(result);
  });

  it('reads the unfiltered capture', () => {
    const ctx = context();
    const { result } = parse(fixture('unfiltered.json'), ctx);
    expect(result.rows).toHaveLength(27);
    expect(result.totalEvents).toBe(186);
    expect(result.rows[0]).toEqual({
      syscall: 'futex', errno: 'ETIMEDOUT', comm: 'memfd:sealed-91', pid: 3000, cgroupId: 1, cgroup: '/', pod: null, count: 77, files: [],
    });
    const counts = result.rows.map((r) => r.count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));

    const inTestCgroup = result.rows.filter((r) => r.cgroupId === 63);
    expect(inTestCgroup).toHaveLength(14);
    expect(inTestCgroup.reduce((s, r) => s + r.count, 0)).toBe(76);
    expect(inTestCgroup.every((r) => r.cgroup === '/fixture-sc')).toBe(true);

    // The same program outside the cgroup shows up too, under the root cgroup.
    expect(result.rows.filter((r) => r.comm === 'fill,er' && r.cgroupId === 1).map((r) => [r.syscall, r.count])).toEqual([
      ['write', 5],
      ['fallocate', 3],
      ['pwrite64', 2],
    ]);
    // Kernel-internal codes and rt_sigreturn's cleared syscall number are real output, named as such.
    expect(result.rows).toContainEqual(expect.objectContaining({ syscall: 'rt_sigsuspend', errno: 'ERESTARTNOHAND', comm: 'timeout' }));
    expect(result.rows).toContainEqual(expect.objectContaining({ syscall: 'syscall_-1', errno: 'EINTR', comm: 'bpftrace' }));
    expect(result.rows).toContainEqual(expect.objectContaining({ syscall: 'epoll_wait', errno: 'EINTR', comm: 'bpftrace' }));
    // One lookup per distinct cgroup, not per row.
    expect([...ctx.lookups].sort()).toEqual([1, 63]);
  });

  it('reports no failures when bpftrace printed only the completion marker', () => {
    expect(parse(fixture('no-failures.json')).result).toEqual({ rows: [], totalEvents: 0 });
  });

  it('names syscalls with the node architecture', () => {
    const { result } = parse(fixture('enospc-cgroup.json'), context('arm64'));
    // Same numbers, arm64 meaning: not what happened on this x86_64 machine, but proof ctx.arch is honoured.
    expect(result.rows.map((r) => r.syscall).slice(0, 2)).toEqual(['io_destroy', 'io_destroy']);
  });
});

describe('syscount parser: the failing descriptors (recorded)', () => {
  const recorded = JSON.parse(fixture('enospc-files.fds.json')) as Record<string, FileResolution>;
  const row = (comm: string, pid: number, count: number, files: unknown[]) => ({
    syscall: 'write', errno: 'ENOSPC', comm, pid, cgroupId: 8176, cgroup: '/fixture-sc', pod: null, count, files,
  });
  const open = (fd: number, count: number, path: string, deleted = false) => ({ fd, count, path, state: 'open', deleted });
  const gone = (fd: number, count: number, state: 'closed' | 'exited') => ({ fd, count, path: null, state, deleted: false });
  const dd = [16570, 16588, 16605, 16622, 16639, 16656, 16673].map((pid) => row('dd', pid, 1, [gone(1, 1, 'exited')]));

  it('names each row\'s files, most failures first, and says which were closed, deleted or whose process exited', () => {
    const { ctx, asked } = withFiles(recorded);
    const { result } = parse(fixture('enospc-files.json'), ctx);
    expect(result).toEqual({
      rows: [
        // Holds fd 3 on a and fd 4 on b, two writes to b for each to a.
        row('node', 16463, 180, [open(4, 118, '/tmp/full/b'), open(3, 59, '/tmp/full/a')]),
        row('node', 16460, 60, [open(3, 60, '/tmp/full/y')]),
        // Opens z, fails, closes, on each round: the number was free again when the capture ended.
        row('node', 16461, 59, [gone(17, 59, 'closed')]),
        row('node', 16462, 59, [open(3, 59, '/tmp/full/gone', true)]),
        // `echo x >> w`: the shell writes through fd 1 dup2'ed onto w, then restores fd 1 (/dev/null when the
        // capture ended, per the recording): the kernel saw it replaced, so it is not reported as /dev/null.
        row('sh', 16468, 56, [gone(1, 56, 'closed')]),
        ...dd,
      ],
      totalEvents: 180 + 60 + 2 * 59 + 56 + 7,
    });
    expect(recorded['16468,1']).toEqual({ path: '/dev/null', state: 'open', deleted: false });
    expect(SyscountResult.parse(result)).toEqual(result);
    // Once per descriptor.
    expect([...asked].sort()).toEqual(Object.keys(recorded).sort());
  });

  it('without a live process to ask, reports the kernel\'s word: closed when it saw the close, else exited', () => {
    const { result } = parse(fixture('enospc-files.json'), recordingContext({ 8176: '/fixture-sc' }));
    expect(result.rows.map((r) => [r.pid, r.files])).toEqual([
      [16463, [gone(4, 118, 'exited'), gone(3, 59, 'exited')]],
      [16460, [gone(3, 60, 'exited')]],
      [16461, [gone(17, 59, 'closed')]],
      [16462, [gone(3, 59, 'exited')]],
      [16468, [gone(1, 56, 'closed')]],
      ...dd.map((r) => [r.pid, [gone(1, 1, 'closed')]]),
    ]);
  });

  it('keeps "exited" over the kernel\'s "closed" once the process is gone', () => {
    const { ctx } = withFiles({ '9,1': { path: null, state: 'exited', deleted: false } });
    const { result } = parse(mapLine({ '1,28,9,1,sh': 2 }, { '@files': { '1,28,9,1': 2 }, '@fdstate': { '9,1': 2 } }), ctx);
    expect(result.rows[0]?.files).toEqual([gone(1, 2, 'exited')]);
  });

  it('reads the older recordings, which have no descriptors, as rows without files', () => {
    const { ctx, asked } = withFiles({});
    expect(parse(fixture('unfiltered.json'), ctx).result.rows.every((r) => r.files.length === 0)).toBe(true);
    expect(asked).toEqual([]);
  });
});

describe('syscount parser: attaching descriptors', () => {
  const file = (path: string): FileResolution => ({ path, state: 'open', deleted: false });

  it('gives a process\'s descriptors to its row with the most failures when comm or cgroup split it', () => {
    // pid 9 exec'ed (sh → app) and moved cgroup: three rows share (write, ENOSPC, 9).
    const { ctx } = withFiles({ '9,3': file('/data/x') }, recordingContext({ 1: '/', 63: '/a' }));
    const { result } = parse(mapLine({ '1,28,9,1,sh': 2, '1,28,9,63,app': 5, '1,28,9,1,app': 1, '74,28,9,63,app': 1 }, { '@files': { '1,28,9,3': 8 } }), ctx);
    expect(result.rows.map((r) => [r.syscall, r.comm, r.cgroupId, r.files.map((f) => f.fd)])).toEqual([
      ['write', 'app', 63, [3]],
      ['write', 'sh', 1, []],
      ['fsync', 'app', 63, []],
      ['write', 'app', 1, []],
    ]);
  });

  it(`lists at most ${MAX_FILES_PER_ROW} descriptors per row, by failures then number, and asks only for those`, () => {
    const counts: Record<number, number> = { 3: 5, 4: 5, 5: 1, 6: 5, 7: 6, 8: 2, 9: 4, 10: 3, 11: 1, 12: 7, 13: 5, 14: 1 };
    const files = Object.fromEntries(Object.entries(counts).map(([fd, n]) => [`1,28,9,${fd}`, n]));
    const { ctx, asked } = withFiles(Object.fromEntries(Object.keys(counts).map((fd) => [`9,${fd}`, file(`/f${fd}`)])));
    const { result } = parse(mapLine({ '1,28,9,1,app': 45 }, { '@files': files }), ctx);
    expect(result.rows[0]?.files.map((f) => [f.fd, f.count, f.path])).toEqual([
      [12, 7, '/f12'], [7, 6, '/f7'], [3, 5, '/f3'], [4, 5, '/f4'], [6, 5, '/f6'], [13, 5, '/f13'], [9, 4, '/f9'], [10, 3, '/f10'],
    ]);
    expect(asked).toHaveLength(MAX_FILES_PER_ROW);
  });

  it('asks once per descriptor, even when several syscalls failed on it', () => {
    const { ctx, asked } = withFiles({ '9,3': file('/data/x') });
    const { result } = parse(mapLine({ '1,28,9,1,app': 4, '74,28,9,1,app': 2 }, { '@files': { '1,28,9,3': 4, '74,28,9,3': 2 } }), ctx);
    expect(result.rows.map((r) => [r.syscall, r.files])).toEqual([
      ['write', [{ fd: 3, count: 4, path: '/data/x', state: 'open', deleted: false }]],
      ['fsync', [{ fd: 3, count: 2, path: '/data/x', state: 'open', deleted: false }]],
    ]);
    expect(asked).toEqual(['9,3']);
  });

  it('leaves out descriptors whose row is missing (dropped at the map key limit)', () => {
    const { ctx, asked } = withFiles({});
    const { result } = parse(mapLine({ '1,28,9,1,app': 4 }, { '@files': { '1,28,10,3': 4, '1,2,9,3': 1 } }), ctx);
    expect(result.rows[0]?.files).toEqual([]);
    expect(asked).toEqual([]);
  });

  it('reads a descriptor as the process passed it: write(-1, …) is fd -1, not 4294967295', () => {
    const { ctx, asked } = withFiles({ '9,-1': { path: null, state: 'closed', deleted: false } });
    const { result } = parse(mapLine({ '1,9,9,1,app': 1 }, { '@files': { '1,9,9,4294967295': 1 }, '@fdstate': { '9,4294967295': 1 } }), ctx);
    expect(result.rows[0]?.files).toEqual([{ fd: -1, count: 1, path: null, state: 'closed', deleted: false }]);
    expect(asked).toEqual(['9,-1']);
    expect(parseFileKey('-1,4,5,7')).toEqual({ syscallNr: -1, errno: 4, pid: 5, fd: 7 });
  });

  it('refuses malformed descriptor keys and values', () => {
    expect(() => parse(mapLine({ '1,28,9,1,a': 1 }, { '@files': { '1,28,9': 1 } }))).toThrow(/unexpected @files key "1,28,9": expected "id,errno,pid,fd"/);
    expect(() => parse(mapLine({ '1,28,9,1,a': 1 }, { '@files': { '1,28,9,x': 1 } }))).toThrow(/unexpected @files key/);
    expect(() => parse(mapLine({ '1,28,9,1,a': 1 }, { '@files': { '1,28,9,3': 1 }, '@fdstate': { '9': 1 } }))).toThrow(/unexpected @fdstate key "9": expected "pid,fd"/);
    expect(() => parse(mapLine({ '1,28,9,1,a': 1 }, { '@files': { '1,28,9,3': -1 } }))).toThrow(/not a map of counts/);
  });
});

describe('syscount parser edge cases', () => {
  it('keeps commas, quotes and backslashes in comm', () => {
    // Recorded key from a process named with prctl(PR_SET_NAME, "a,b\"c\\d, e").
    const { result } = parse(mapLine({ '257,2,5155,1,a,b"c\\d, e': 3 }));
    expect(result.rows).toEqual([
      { syscall: 'openat', errno: 'ENOENT', comm: 'a,b"c\\d, e', pid: 5155, cgroupId: 1, cgroup: '/', pod: null, count: 3, files: [] },
    ]);
  });

  it('accepts an empty comm and unknown numbers', () => {
    const { result } = parse(mapLine({ '999,600,7,12345,': 4 }));
    expect(result.rows).toEqual([
      { syscall: 'syscall_999', errno: 'E600', comm: '', pid: 7, cgroupId: 12345, cgroup: null, pod: null, count: 4, files: [] },
    ]);
  });

  it('orders ties deterministically', () => {
    const { result } = parse(mapLine({ '1,28,9,1,b': 2, '0,28,9,1,a': 2, '1,28,8,1,a': 2, '1,2,8,1,a': 2 }));
    expect(result.rows.map((r) => `${r.syscall}/${r.errno}/${r.pid}`)).toEqual([
      'read/ENOSPC/9',
      'write/ENOENT/8',
      'write/ENOSPC/8',
      'write/ENOSPC/9',
    ]);
  });

  it('is empty for empty output', () => {
    expect(parse('').result).toEqual({ rows: [], totalEvents: 0 });
  });

  it('refuses truncated output instead of reporting a partial count', () => {
    const truncated = fixture('enospc-cgroup.json').slice(0, -40);
    expect(() => parse(truncated)).toThrow(/line 5 is not JSON/);
  });

  it('refuses malformed keys and values', () => {
    expect(() => parse(mapLine({ 'x,28,1,1,a': 1 }))).toThrow(/expected "id,errno,pid,cgroup,comm"/);
    expect(() => parse(mapLine({ '1,28,1,a': 1 }))).toThrow(/unexpected @failures key/);
    expect(() => parse(mapLine({ '1,28,1,1,a': 1.5 }))).toThrow(/not a map of counts/);
  });

  it('splits keys with comm last', () => {
    expect(parseFailureKey('-1,4,5639,1,npm exec eslint')).toEqual({
      syscallNr: -1, errno: 4, pid: 5639, cgroupId: 1, comm: 'npm exec eslint',
    });
  });
});

describe('syscount manifest', () => {
  it('validates params strictly and case-insensitively', () => {
    expect(syscount.params.parse({})).toEqual({});
    expect(syscount.params.parse({ errno: 'enospc' })).toEqual({ errno: 'ENOSPC' });
    expect(syscount.params.safeParse({ errno: 'ENOSPACE' }).success).toBe(false);
    expect(syscount.params.safeParse({ errno: 28 }).success).toBe(false);
    expect(syscount.params.safeParse({ errno: 'ENOSPC', pid: 1 }).success).toBe(false);
  });

  it('passes errno, cgroup ids and pid as numbers, then this architecture\'s numbers of the descriptor syscalls', () => {
    // x86_64: write … sendfile (descriptor first), copy_file_range and splice (third), close, dup2 and dup3.
    const X64 = ['1', '18', '20', '296', '328', '285', '77', '74', '75', '277', '40', '326', '275', '3', '33', '292'];
    const numbers = process.arch === 'x64' ? X64 : descriptorSyscallArgs(process.arch);
    expect(syscount.args(syscount.params.parse({ errno: 'enospc' }), { cgroupIds: [63], pid: 0 })).toEqual(['28', '63', '0', ...NO_MORE_CGROUPS, ...numbers]);
    expect(syscount.args(syscount.params.parse({}), { cgroupIds: [], pid: 4242 })).toEqual(['0', '0', '4242', ...NO_MORE_CGROUPS, ...numbers]);
    expect(syscount.args(syscount.params.parse({ errno: 'ewouldblock' }), { cgroupIds: [], pid: 0 })).toEqual(['11', '0', '0', ...NO_MORE_CGROUPS, ...numbers]);
    // Several cgroups (the containers of the target pods): the first keeps its place, the others after the pid.
    expect(syscount.args(syscount.params.parse({}), { cgroupIds: [63, 64], pid: 0 })).toEqual(['0', '63', '0', '64', '0', '0', '0', '0', '0', '0', ...numbers]);
    // arm64 has no dup2: its slot holds a number no syscall has.
    expect(descriptorSyscallArgs('arm64')).toEqual(['64', '68', '66', '70', '287', '47', '46', '82', '83', '84', '71', '285', '76', '57', '999999', '24']);
    expect(() => descriptorSyscallArgs('mips')).toThrow(/no syscall table for architecture mips/);
  });

  it('refuses a scope that is not a plain integer', () => {
    expect(() => syscount.args({}, { cgroupIds: [-1], pid: 0 })).toThrow(/cgroup id/);
    expect(() => syscount.args({}, { cgroupIds: [], pid: 1.5 })).toThrow(/pid/);
    expect(() => syscount.args({}, { cgroupIds: [Number.NaN], pid: 0 })).toThrow(/cgroup id/);
    expect(() => syscount.args({}, { cgroupIds: [1, 2, 3, 4, 5, 6, 7, 8, 9], pid: 0 })).toThrow(/at most 8 cgroup ids/);
  });

  it('points at its program and declares what it needs', () => {
    const program = readFileSync(syscount.programFile, 'utf8');
    expect(program).toContain('tracepoint:raw_syscalls:sys_exit');
    // One entry probe for every descriptor syscall: each tracepoint attached costs time to attach and to detach.
    expect(program).toContain('tracepoint:raw_syscalls:sys_enter');
    expect(program).not.toContain('tracepoint:syscalls:');
    expect(syscount.requires).toContainEqual({ kind: 'tracepoint', name: 'raw_syscalls/sys_enter' });
    expect(syscount.requires).toContainEqual({ kind: 'tracepoint', name: 'raw_syscalls/sys_exit' });
    expect(syscount.limits).toEqual({ minDurationMs: 1000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 });
  });
});

describe('tool registry', () => {
  it('finds tools by name and nothing else', () => {
    expect(Object.keys(tools)).toEqual(expect.arrayContaining(['profile', 'syscount']));
    for (const [name, tool] of Object.entries(tools)) expect(tool.name).toBe(name);
    expect(getTool('syscount')).toBe(syscount);
    expect(getTool('profile')?.name).toBe('profile');
    expect(getTool('nope')).toBeUndefined();
    expect(getTool('constructor')).toBeUndefined();
    expect(getTool('__proto__')).toBeUndefined();
  });
});
