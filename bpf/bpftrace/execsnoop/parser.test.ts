import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { execsnoop } from './manifest.ts';
import { readScalar } from './parser.ts';
import { ExecsnoopResult } from './result.ts';
import type { ParseContext } from '../../tool.ts';
import { assertBpf, bpfSuiteName, skipBpf, runProgramBriefly } from '../../../test/helpers/bpf.ts';
import { NO_MORE_CGROUPS, UNUSED_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { recordingContext, toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('execsnoop', name);

/** storm-cgroup.json ran in test cgroup id 1013, storm-pid.json in id 1032 (both /th-execsnoop, re-created). */
const context = () => recordingContext({ 1013: '/th-execsnoop', 1032: '/th-execsnoop' });

const parse = (stdout: string, params: object = {}, ctx: ParseContext = context()) =>
  execsnoop.parse(stdout, execsnoop.params.parse(params), ctx).result;

const output = (maps: Record<string, Record<string, number> | number>): string =>
  `{"type": "attached_probes", "data": {"probes": 8}}\n\n\n{"type": "map", "data": {"@complete": 1}}\n` +
  Object.entries(maps)
    .map(([name, value]) => `${JSON.stringify({ type: 'map', data: { [name]: value } })}\n`)
    .join('');

/** The workload of both fixtures: 200 × /bin/true, 5 × a missing file, 3 × a file without x bit, 3 × a name with a comma. */
const filenames = (trueCount: number) => [
  { filename: '/bin/true', count: trueCount, failed: 0, failures: [] },
  { filename: '/nonexistent/th-missing', count: 5, failed: 5, failures: [{ errno: 'ENOENT', count: 5 }] },
  { filename: '/tmp/th-fx/th-noexec', count: 3, failed: 3, failures: [{ errno: 'EACCES', count: 3 }] },
  { filename: '/tmp/th-fx/tru,e', count: 3, failed: 0, failures: [] },
  { filename: '/usr/bin/sh', count: 1, failed: 0, failures: [] },
];

describe('execsnoop parser on recorded output', () => {
  it('reads an exec storm filtered to its cgroup', () => {
    const ctx = context();
    const result = parse(fixture('storm-cgroup.json'), {}, ctx);
    expect(ExecsnoopResult.parse(result)).toEqual(result);
    expect(result).toEqual({
      execs: 214,
      failed: 8,
      durationMs: 1062,
      execsPerSecond: 201.5,
      // The two extra /bin/true come from `sh -c "/bin/true; /bin/true"`, a grandchild of the loop.
      filenames: filenames(202),
      distinctFilenames: 5,
      parents: [
        { ppid: 29639, comm: 'sh', cgroupId: 1013, cgroup: '/th-execsnoop', count: 212, failed: 8 },
        { ppid: 29886, comm: 'sh', cgroupId: 1013, cgroup: '/th-execsnoop', count: 2, failed: 0 },
      ],
      distinctParents: 2,
    });
    expect(ctx.lookups).toEqual([1013]);
  });

  it('reads the same storm filtered to the loop pid: its children only, not grandchildren', () => {
    const result = parse(fixture('storm-pid.json'));
    expect(result).toEqual({
      execs: 212,
      failed: 8,
      durationMs: 1079,
      execsPerSecond: 196.5,
      filenames: filenames(200),
      distinctFilenames: 5,
      parents: [{ ppid: 29903, comm: 'sh', cgroupId: 1032, cgroup: '/th-execsnoop', count: 212, failed: 8 }],
      distinctParents: 1,
    });
  });

  it('keeps only the top filenames and parents', () => {
    const result = parse(fixture('storm-cgroup.json'), { top: 1 });
    expect(result.filenames.map((f) => f.filename)).toEqual(['/bin/true']);
    expect(result.distinctFilenames).toBe(5);
    expect(result.parents.map((p) => p.ppid)).toEqual([29639]);
    expect(result.distinctParents).toBe(2);
    expect(result.execs).toBe(214);
  });

  it('reports no execs, with the duration, when nothing ran', () => {
    expect(parse(fixture('no-execs.json'))).toEqual({
      execs: 0,
      failed: 0,
      durationMs: 1413,
      execsPerSecond: 0,
      filenames: [],
      distinctFilenames: 0,
      parents: [],
      distinctParents: 0,
    });
  });
});

describe('execsnoop parser edge cases', () => {
  it('keeps commas in filenames and comm, and names a parent by its most frequent comm', () => {
    const result = parse(
      output({
        '@execs': { '7,1,/opt/a,b/run': 4, '8,1,/x': 1 },
        '@failures': { '7,2,1,/opt/a,b/run': 1, '7,13,1,/opt/a,b/run': 2 },
        '@parents': { '7,sh,x': 1, '7,run,ner': 3 },
        '@duration_ms': 500,
      }),
    );
    expect(result.filenames[0]).toEqual({
      filename: '/opt/a,b/run', count: 4, failed: 3, failures: [{ errno: 'EACCES', count: 2 }, { errno: 'ENOENT', count: 1 }],
    });
    expect(result.parents).toEqual([
      { ppid: 7, comm: 'run,ner', cgroupId: 1, cgroup: null, count: 4, failed: 3 },
      { ppid: 8, comm: null, cgroupId: 1, cgroup: null, count: 1, failed: 0 },
    ]);
    expect(result.execsPerSecond).toBe(10);
  });

  it('has no rate without a duration', () => {
    const result = parse(output({ '@execs': { '7,1,/x': 3 } }));
    expect(result).toMatchObject({ execs: 3, durationMs: null, execsPerSecond: null });
    expect(parse('')).toMatchObject({ execs: 0, durationMs: null, execsPerSecond: null });
    expect(readScalar(output({ '@duration_ms': 0 }), '@duration_ms')).toBe(0);
    expect(parse(output({ '@duration_ms': 0 })).execsPerSecond).toBeNull();
  });

  it('orders ties deterministically', () => {
    const result = parse(output({ '@execs': { '9,1,/b': 2, '8,1,/a': 2, '8,2,/c': 2 }, '@failures': { '9,2,1,/b': 1 } }));
    expect(result.filenames.map((f) => f.filename)).toEqual(['/b', '/a', '/c']);
    // Equal counts: more failures first, then by ppid and cgroup.
    expect(result.parents.map((p) => `${p.ppid}/${p.cgroupId}`)).toEqual(['9/1', '8/1', '8/2']);
  });

  it('refuses truncated output and malformed keys', () => {
    expect(() => parse(fixture('storm-cgroup.json').slice(0, -40))).toThrow(/line 8 is not JSON/);
    expect(() => parse(output({ '@execs': { 'x,1,/a': 1 } }))).toThrow(/expected "ppid,cgroup,filename"/);
    expect(() => parse(output({ '@failures': { '1,2,/a': 1 } }))).toThrow(/expected "ppid,errno,cgroup,filename"/);
    expect(() => parse(output({ '@parents': { 'sh': 1 } }))).toThrow(/expected "ppid,comm"/);
    expect(() => parse(output({ '@duration_ms': -1 }))).toThrow(/@duration_ms is not a non-negative integer/);
  });
});

describe('execsnoop manifest', () => {
  it('validates params strictly', () => {
    expect(execsnoop.params.parse({})).toEqual({ top: 20 });
    expect(execsnoop.params.safeParse({ top: 0 }).success).toBe(false);
    expect(execsnoop.params.safeParse({ filename: '/bin/true' }).success).toBe(false);
  });

  it('passes cgroup ids and pid as numbers', () => {
    expect(execsnoop.args({ top: 20 }, { cgroupIds: [1013], pid: 0 })).toEqual(['1013', '0', ...NO_MORE_CGROUPS]);
    expect(execsnoop.args({ top: 20 }, { cgroupIds: [], pid: 29903 })).toEqual(['0', '29903', ...NO_MORE_CGROUPS]);
    expect(() => execsnoop.args({ top: 20 }, { cgroupIds: [Number.NaN], pid: 0 })).toThrow(/cgroup id/);
    // Several cgroups (the containers of the target pods): the first keeps its place, the others go last.
    expect(execsnoop.args({ top: 20 }, { cgroupIds: [63, 64], pid: 0 })).toEqual(['63', '0', '64', '0', '0', '0', '0', '0', '0']);
    expect(() => execsnoop.args({ top: 20 }, { cgroupIds: [1, 2, 3, 4, 5, 6, 7, 8, 9], pid: 0 })).toThrow(/at most 8 cgroup ids/);
  });

  it('points at its program and declares what it needs', () => {
    const program = readFileSync(execsnoop.programFile, 'utf8');
    expect(program).toContain('tracepoint:syscalls:sys_enter_execve,');
    expect(program).toContain('curtask->real_parent->tgid');
    expect(execsnoop.requires).toContainEqual({ kind: 'btf' });
    expect(execsnoop.requires).toContainEqual({ kind: 'tracepoint', name: 'syscalls/sys_enter_execveat' });
    expect(execsnoop.requires).toContainEqual({ kind: 'tracepoint', name: 'syscalls/sys_exit_execve' });
    expect(execsnoop.limits).toEqual({ minDurationMs: 1000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 });
  });
});

describe.skipIf(skipBpf)(bpfSuiteName('execsnoop program'), () => {
  beforeAll(() => assertBpf());

  it('loads within the BPF stack limit and prints the completion marker', async () => {
    const run = await runProgramBriefly(execsnoop, execsnoop.args({ top: 20 }, UNUSED_CGROUPS));
    expect(run.stdout, run.stderr).toContain('"attached_probes"');
    expect(parse(run.stdout)).toMatchObject({ execs: 0, durationMs: expect.any(Number) });
  });
});
