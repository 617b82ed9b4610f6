import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { opensnoop } from './manifest.ts';
import { parseOpenKey } from './parser.ts';
import { OpensnoopResult } from './result.ts';
import type { ParseContext } from '../../tool.ts';
import { NO_MORE_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { recordingContext, toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('opensnoop', name);

/** The fixtures were recorded with the workload in cgroup /fixture-os (id 23), see fixtures/README.md. */
const context = () => recordingContext({ 23: '/fixture-os' });

const parse = (stdout: string, params: object = {}, ctx: ParseContext = context()) =>
  opensnoop.parse(stdout, opensnoop.params.parse(params), ctx).result;

const maps = (opens: Record<string, number>, paths: Record<string, number>): string =>
  `{"type": "attached_probes", "data": {"probes": 7}}\n{"type": "map", "data": {"@complete": 1}}\n` +
  `${JSON.stringify({ type: 'map', data: { '@opens': opens } })}\n${JSON.stringify({ type: 'map', data: { '@paths': paths } })}\n`;

const IN = '/tmp/th-os-in';
const row = (errno: string | null, comm: string, pid: number, count: number, path: string) => ({
  errno, comm, pid, cgroupId: 23, cgroup: '/fixture-os', pod: null, count, paths: [{ path, count }], distinctPaths: 1,
});

describe('opensnoop parser on recorded output', () => {
  it('reads the failures of one cgroup (tracepoints): ENOENT, EACCES and EMFILE with their process and path', () => {
    const ctx = context();
    const result = parse(fixture('failures-cgroup.json'), {}, ctx);
    expect(OpensnoopResult.parse(result)).toEqual(result);
    expect(result).toEqual({
      rows: [
        row('EACCES', 'open-eacces', 147, 79, `${IN}/secret`),
        row('EMFILE', 'open-emfile', 149, 79, `${IN}/present`),
        row('ENOENT', 'open,err', 143, 78, `${IN}/missing,file`),
      ],
      distinctRows: 3,
      totalFailures: 236,
      totalSuccesses: 0,
      byErrno: [{ errno: 'EACCES', count: 79 }, { errno: 'EMFILE', count: 79 }, { errno: 'ENOENT', count: 78 }],
    });
    // The same workload outside the cgroup (on /tmp/th-os-out) was filtered out in the kernel.
    expect(JSON.stringify(result)).not.toContain('th-os-out');
    expect(ctx.lookups).toEqual([23]);
  });

  it('reads the fentry recording: one errno, successes as rows with errno null', () => {
    const result = parse(fixture('fentry-enoent-successes.json'));
    // Equal counts: successes (errno 0 in the kernel's keys) sort first.
    expect(result.rows).toEqual([row(null, 'open,err', 143, 85, `${IN}/present`), row('ENOENT', 'open,err', 143, 85, `${IN}/missing,file`)]);
    expect(result).toMatchObject({ distinctRows: 2, totalFailures: 85, totalSuccesses: 85, byErrno: [{ errno: 'ENOENT', count: 85 }] });
  });

  it('keeps only the top rows, with the totals of all', () => {
    const result = parse(fixture('failures-cgroup.json'), { maxRows: 1 });
    expect(result.rows.map((r) => r.comm)).toEqual(['open-eacces']);
    expect(result).toMatchObject({ distinctRows: 3, totalFailures: 236 });
  });

  it('reports nothing when bpftrace printed only the completion marker', () => {
    expect(parse(fixture('no-opens.json'))).toEqual({ rows: [], distinctRows: 0, totalFailures: 0, totalSuccesses: 0, byErrno: [] });
  });
});

describe('opensnoop parser edge cases', () => {
  it('splits keys up to the text, which may hold commas, and refuses malformed ones', () => {
    expect(parseOpenKey('@paths', '24,149,23,/a,b,c')).toEqual({ errno: 24, pid: 149, cgroupId: 23, text: '/a,b,c' });
    expect(parseOpenKey('@opens', '0,1,1,')).toEqual({ errno: 0, pid: 1, cgroupId: 1, text: '' });
    expect(() => parse(maps({ 'x,1,1,sh': 1 }, {}))).toThrow(/expected "errno,pid,cgroup,comm"/);
    expect(() => parse(maps({ '2,1,1,sh': 1 }, { '2,1,/x': 1 }))).toThrow(/expected "errno,pid,cgroup,path"/);
    expect(() => parse(fixture('failures-cgroup.json').slice(0, -30))).toThrow(/is not JSON/);
  });

  it('keeps the top paths per row, gives a process that exec\'ed its paths on its biggest row, names unknown errnos', () => {
    const result = parse(
      maps(
        { '2,10,23,sh': 1, '2,10,23,app': 5, '999,11,7,x': 1 },
        { '2,10,23,/a': 3, '2,10,23,/b': 1, '2,10,23,/c': 2, '999,11,7,/d': 1, '2,12,23,/orphan': 4 },
      ),
      { pathsPerRow: 2 },
    );
    expect(result.rows.map((r) => [r.errno, r.comm, r.cgroup, r.paths, r.distinctPaths])).toEqual([
      ['ENOENT', 'app', '/fixture-os', [{ path: '/a', count: 3 }, { path: '/c', count: 2 }], 3],
      ['ENOENT', 'sh', '/fixture-os', [], 0],
      ['E999', 'x', null, [{ path: '/d', count: 1 }], 1],
    ]);
    // /orphan's row (pid 12) was never counted: its path is left out rather than given to someone else.
    expect(JSON.stringify(result)).not.toContain('orphan');
  });

  it('is empty for empty output', () => {
    expect(parse('').rows).toEqual([]);
  });
});

describe('opensnoop manifest', () => {
  it('validates params strictly', () => {
    expect(opensnoop.params.parse({})).toEqual({ successes: false, maxRows: 50, pathsPerRow: 8 });
    expect(opensnoop.params.parse({ errno: 'enoent' })).toMatchObject({ errno: 'ENOENT' });
    expect(opensnoop.params.safeParse({ errno: 'ENOPE' }).success).toBe(false);
    expect(opensnoop.params.safeParse({ maxRows: 0 }).success).toBe(false);
    expect(opensnoop.params.safeParse({ path: '/etc' }).success).toBe(false);
  });

  it('passes errno, scope and the successes flag as positional integers', () => {
    const p = (x: object) => opensnoop.params.parse(x);
    expect(opensnoop.args(p({}), { cgroupIds: [], pid: 0 })).toEqual(['0', '0', '0', ...NO_MORE_CGROUPS, '0']);
    expect(opensnoop.args(p({ errno: 'EMFILE', successes: true }), { cgroupIds: [23, 24], pid: 7 })).toEqual(['24', '23', '7', '24', '0', '0', '0', '0', '0', '0', '1']);
  });

  it('offers fentry first, then tracepoints, each with its own program', () => {
    expect(opensnoop.variants.map((v) => v.name)).toEqual(['fentry', 'tracepoint']);
    const [fentry, tracepoint] = opensnoop.variants;
    expect(fentry?.requires).toEqual([{ kind: 'fentry', function: 'do_sys_openat2' }, { kind: 'kernel', min: '5.6' }]);
    expect(readFileSync(fentry?.programFile ?? '', 'utf8')).toContain('kretfunc:do_sys_openat2');
    expect(tracepoint?.programFile).toBe(opensnoop.programFile);
    expect(tracepoint?.requires).toHaveLength(6);
    expect(readFileSync(opensnoop.programFile, 'utf8')).toContain('tracepoint:syscalls:sys_exit_openat2');
    expect(opensnoop.env).toEqual({ BPFTRACE_STRLEN: '200' });
  });
});
