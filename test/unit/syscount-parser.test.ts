import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { getTool, tools } from '../../bpf/index.ts';
import { syscount } from '../../bpf/syscount/manifest.ts';
import { parseFailureKey } from '../../bpf/syscount/parser.ts';
import type { ParseContext } from '../../bpf/tool.ts';
import { SyscountResult } from '../../src/core/tool-results.ts';
import { NO_MORE_CGROUPS } from '../helpers/cgroup-slots.ts';
import { recordingContext, toolFixture } from '../helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('syscount', name);

/** The fixtures were recorded with test cgroup /fixture-sc (id 63) below the root cgroup (id 1). */
const context = (arch = 'x64') => recordingContext({ 63: '/fixture-sc', 1: '/' }, arch);

const parse = (stdout: string, ctx: ParseContext = context()) => syscount.parse(stdout, syscount.params.parse({}), ctx);

const mapLine = (entries: Record<string, number>): string =>
  `{"type": "attached_probes", "data": {"probes": 2}}\n\n\n{"type": "map", "data": {"@complete": 1}}\n` +
  `${JSON.stringify({ type: 'map', data: { '@failures': entries } })}\n`;

describe('syscount parser on recorded output', () => {
  it('reads the ENOSPC capture filtered to one cgroup', () => {
    const { result, extraArtifacts } = parse(fixture('enospc-cgroup.json'));
    const row = (syscall: string, pid: number, comm: string, count: number) => ({
      syscall, errno: 'ENOSPC', comm, pid, cgroupId: 63, cgroup: '/fixture-sc', pod: null, count,
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
      syscall: 'futex', errno: 'ETIMEDOUT', comm: 'memfd:sealed-91', pid: 3000, cgroupId: 1, cgroup: '/', pod: null, count: 77,
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

describe('syscount parser edge cases', () => {
  it('keeps commas, quotes and backslashes in comm', () => {
    // Recorded key from a process named with prctl(PR_SET_NAME, "a,b\"c\\d, e").
    const { result } = parse(mapLine({ '257,2,5155,1,a,b"c\\d, e': 3 }));
    expect(result.rows).toEqual([
      { syscall: 'openat', errno: 'ENOENT', comm: 'a,b"c\\d, e', pid: 5155, cgroupId: 1, cgroup: '/', pod: null, count: 3 },
    ]);
  });

  it('accepts an empty comm and unknown numbers', () => {
    const { result } = parse(mapLine({ '999,600,7,12345,': 4 }));
    expect(result.rows).toEqual([
      { syscall: 'syscall_999', errno: 'E600', comm: '', pid: 7, cgroupId: 12345, cgroup: null, pod: null, count: 4 },
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

  it('passes errno, cgroup ids and pid as numbers', () => {
    expect(syscount.args(syscount.params.parse({ errno: 'enospc' }), { cgroupIds: [63], pid: 0 })).toEqual(['28', '63', '0', ...NO_MORE_CGROUPS]);
    expect(syscount.args(syscount.params.parse({}), { cgroupIds: [], pid: 4242 })).toEqual(['0', '0', '4242', ...NO_MORE_CGROUPS]);
    expect(syscount.args(syscount.params.parse({ errno: 'ewouldblock' }), { cgroupIds: [], pid: 0 })).toEqual(['11', '0', '0', ...NO_MORE_CGROUPS]);
    // Several cgroups (the containers of the target pods): the first keeps its place, the others go last.
    expect(syscount.args(syscount.params.parse({}), { cgroupIds: [63, 64], pid: 0 })).toEqual(['0', '63', '0', '64', '0', '0', '0', '0', '0', '0']);
  });

  it('refuses a scope that is not a plain integer', () => {
    expect(() => syscount.args({}, { cgroupIds: [-1], pid: 0 })).toThrow(/cgroup id/);
    expect(() => syscount.args({}, { cgroupIds: [], pid: 1.5 })).toThrow(/pid/);
    expect(() => syscount.args({}, { cgroupIds: [Number.NaN], pid: 0 })).toThrow(/cgroup id/);
    expect(() => syscount.args({}, { cgroupIds: [1, 2, 3, 4, 5, 6, 7, 8, 9], pid: 0 })).toThrow(/at most 8 cgroup ids/);
  });

  it('points at its program and declares what it needs', () => {
    expect(readFileSync(syscount.programFile, 'utf8')).toContain('tracepoint:raw_syscalls:sys_exit');
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
