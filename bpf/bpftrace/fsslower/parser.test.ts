import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fsslower } from './manifest.ts';
import { parseFsslower } from './parser.ts';
import { FsslowerResult } from './result.ts';
import type { ParseContext } from '../../tool.ts';
import { NO_MORE_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('fsslower', name);
const ctx: ParseContext = { arch: 'x64', cgroupPathOf: () => null };
const params = (over: object = {}) => fsslower.params.parse({ thresholdMs: 50, ...over });
const parse = (stdout: string, over: object = {}, c: ParseContext = ctx) => parseFsslower(stdout, params(over), c);

const output = (maps: Record<string, unknown>) =>
  [JSON.stringify({ type: 'attached_probes', data: { probes: 8 } }), '', ...Object.entries(maps).map(([k, v]) => JSON.stringify({ type: 'map', data: { [k]: v } }))].join('\n') + '\n';

describe('fsslower parser on recorded output', () => {
  it('reads the kprobe variant: blocked FIFO open, read and write, named from the dentry (Debian 12, 6.1)', () => {
    const result = parse(fixture('fifo-kprobe.json'));
    expect(FsslowerResult.parse(result)).toEqual(result);
    // Two rounds of fifo-load.py (delay 200 ms) in the cgroup: reader 184, writers 187 and 188.
    expect(result.ops.map((o) => [o.op, o.pid, o.latencyUs, o.bytes])).toEqual([
      ['open', 184, 206838, null],
      ['open', 184, 204869, null],
      ['write', 188, 203493, 69632],
      ['read', 184, 202251, 100],
      ['write', 187, 200666, 69632],
      ['read', 184, 199128, 100],
    ]);
    expect(result.ops.every((o) => o.file === 'th-fifo' && o.fd === null && o.fdPath === null && o.error === null && o.comm === 'python3')).toBe(true);
    expect(result.ops[0]).toMatchObject({ tid: 184 });
    expect(result.slowOps).toBe(6);
    expect(result.byProcess).toEqual([
      { op: 'open', pid: 184, comm: 'python3', count: 2, maxUs: 206838 },
      { op: 'write', pid: 188, comm: 'python3', count: 1, maxUs: 203493 },
      { op: 'read', pid: 184, comm: 'python3', count: 2, maxUs: 202251 },
      { op: 'write', pid: 187, comm: 'python3', count: 1, maxUs: 200666 },
    ]);
    // Everything the cgroup's processes did through the VFS was timed; the two fsyncs were fast. The reader
    // outside the cgroup (185) is not there.
    expect(result.timedOps).toEqual({ read: 40, write: 8, open: 34, fsync: 2 });
    expect(result.ops.some((o) => o.pid === 185)).toBe(false);
  });

  it('reads the tracepoint variant: the path for opens, the descriptor for reads and writes (host, 6.18)', () => {
    const result = parse(fixture('fifo-tracepoint.json'));
    const python = result.ops.filter((o) => o.comm === 'python3');
    expect(python.map((o) => [o.op, o.pid, o.fd, o.file, o.bytes])).toEqual([
      ['open', 32084, 3, '/tmp/th-fsslower.lzA6gP/in/th-fifo', null],
      ['open', 32084, 3, '/tmp/th-fsslower.lzA6gP/in/th-fifo', null],
      ['write', 32170, 3, null, 69632],
      ['write', 32180, 3, null, 69632],
      ['read', 32084, 3, null, 100],
      ['read', 32084, 3, null, 100],
    ]);
    expect(python.every((o) => o.latencyUs >= 198_000 && o.latencyUs < 220_000)).toBe(true);
    // Shells in the cgroup (comm "bash", before their exec) also had slow reads of descriptor 3: kept as recorded.
    expect(result.ops.filter((o) => o.comm === 'bash').map((o) => o.latencyUs)).toEqual([267647, 146776, 94167, 70722, 64663, 50024]);
    expect(result.slowOps).toBe(12);
    expect(result.timedOps).toEqual({ read: 470, write: 39, open: 1380, fsync: 2 });
  });

  it('resolves descriptors through the agent where it can', () => {
    const asked: Array<[number, number]> = [];
    const result = parse(fixture('fifo-tracepoint.json'), {}, {
      ...ctx,
      fileOf: (pid, fd) => {
        asked.push([pid, fd]);
        return pid === 32084 ? { path: '/tmp/x/th-fifo', state: 'open', deleted: false } : { path: null, state: 'exited', deleted: false };
      },
    });
    expect(result.ops.find((o) => o.op === 'read')?.fdPath).toBe('/tmp/x/th-fifo');
    expect(result.ops.find((o) => o.op === 'write')?.fdPath).toBeNull();
    expect(asked).toContainEqual([32170, 3]);
  });

  it('keeps maxOps, slowest first', () => {
    const result = parse(fixture('fifo-kprobe.json'), { maxOps: 2 });
    expect(result.ops.map((o) => o.latencyUs)).toEqual([206838, 204869]);
    expect(result.slowOps).toBe(6);
  });
});

describe('fsslower parser edge cases', () => {
  it('reports failed calls by errno and names with commas', () => {
    const result = parse(output({ '@slow': { '7,100': [60000, 4, -5, -1, 7, 'db,w', 'a,b.log'] }, '@slow_ops': { '4,7,db,w': 1 }, '@slow_max_us': { '4,7,db,w': 60000 } }));
    expect(result.ops).toEqual([{ latencyUs: 60000, op: 'fsync', tid: 7, pid: 7, comm: 'db,w', file: 'a,b.log', fd: null, fdPath: null, bytes: null, error: -5 }]);
    expect(result.byProcess).toEqual([{ op: 'fsync', pid: 7, comm: 'db,w', count: 1, maxUs: 60000 }]);
  });

  it('refuses malformed output', () => {
    expect(() => parse(output({ '@slow': { '7,100': [1, 9, 0, -1, 7, 'x', ''] } }))).toThrow(/op 9 is not 1-4/);
    expect(() => parse(output({ '@slow': { '7,100': [1, 1, 0] } }))).toThrow(/not a map of \[us, op, ret, fd, pid, comm, name\]/);
    expect(() => parse(output({ '@slow': { x: [1, 1, 0, -1, 7, 'x', ''] } }))).toThrow(/expected "tid,nsecs"/);
    expect(() => parse(output({ '@slow_ops': { '1,x': 1 } }))).toThrow(/expected "op,pid,comm"/);
    expect(() => parse(fixture('fifo-kprobe.json').slice(0, -20))).toThrow(/not JSON/);
  });

  it('is empty when nothing was slow', () => {
    expect(parse(output({ '@complete': 1, '@ops': { '1': 3 } }))).toEqual({
      unit: 'us', thresholdMs: 50, ops: [], slowOps: 0, byProcess: [], timedOps: { read: 3, write: 0, open: 0, fsync: 0 },
    });
  });
});

describe('fsslower manifest', () => {
  it('validates the threshold as an integer and passes it first', () => {
    expect(fsslower.params.parse({})).toEqual({ thresholdMs: 10, maxOps: 50 });
    for (const bad of [{ thresholdMs: -1 }, { thresholdMs: 2.5 }, { thresholdMs: '10' }, { maxOps: 0 }, { path: '/x' }]) {
      expect(fsslower.params.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
    expect(fsslower.args(fsslower.params.parse({ thresholdMs: 25 }), { cgroupIds: [63], pid: 9 })).toEqual(['25', '50', '63', '9', ...NO_MORE_CGROUPS]);
  });

  it('offers kprobe first, then the tracepoint program.bt', () => {
    expect(fsslower.variants.map((v) => v.name)).toEqual(['kprobe', 'tracepoint']);
    const [kprobe, tracepoint] = fsslower.variants;
    expect(tracepoint?.programFile).toBe(fsslower.programFile);
    expect(kprobe?.programFile).toMatch(/fsslower\/program\.kprobe\.bt$/);
    expect(kprobe?.requires).toContainEqual({ kind: 'kprobe', function: 'vfs_fsync_range' });
    for (const fn of ['vfs_read', 'vfs_write', 'vfs_open', 'vfs_fsync_range']) expect(readFileSync(kprobe!.programFile, 'utf8')).toContain(`kretprobe:${fn}\n`);
    expect(readFileSync(fsslower.programFile, 'utf8')).toContain('tracepoint:syscalls:sys_exit_fdatasync');
  });
});
