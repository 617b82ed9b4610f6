import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ext4slower } from './manifest.ts';
import { parseExt4slower } from './parser.ts';
import { Ext4slowerResult } from './result.ts';
import { NO_MORE_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('ext4slower', name);
const ctx = { arch: 'x64', cgroupPathOf: () => null };
const parse = (stdout: string, over: object = {}) => parseExt4slower(stdout, ext4slower.params.parse({ thresholdMs: 30, ...over }), ctx);

describe('ext4slower parser on recorded output', () => {
  it('reads fsyncs and cold reads of a file on ext4 behind dm-delay 50 ms (Debian 13, 6.12)', () => {
    const result = parse(fixture('ext4-dm-delay.json'));
    expect(Ext4slowerResult.parse(result)).toEqual(result);
    // ext4-load.py (pid 250): each round's fsync waits for the journal commit through the delay (several delayed
    // writes: 230-252 ms), the cold 1 MiB read for the delayed reads (63-68 ms).
    expect(result.ops.map((o) => [o.op, o.latencyUs])).toEqual([
      ['fsync', 252449], ['fsync', 242393], ['fsync', 238396], ['fsync', 237782], ['fsync', 233303], ['fsync', 231018], ['fsync', 229623],
      ['read', 67683], ['read', 64143], ['read', 63893], ['read', 63444], ['read', 63171], ['read', 62819],
    ]);
    expect(result.ops.every((o) => o.pid === 250 && o.tid === 250 && o.comm === 'python3' && o.file === 'th-data' && o.fd === null && o.error === null)).toBe(true);
    expect(result.ops.filter((o) => o.op === 'read').every((o) => o.bytes === 1048576)).toBe(true);
    expect(result.ops.filter((o) => o.op === 'fsync').every((o) => o.bytes === null)).toBe(true);
    expect(result.slowOps).toBe(13);
    expect(result.byProcess).toEqual([
      { op: 'fsync', pid: 250, comm: 'python3', count: 7, maxUs: 252449 },
      { op: 'read', pid: 250, comm: 'python3', count: 6, maxUs: 67683 },
    ]);
    // Buffered 1 MiB writes and the opens were timed but fast; the second read of each round (EOF) too.
    expect(result.timedOps).toEqual({ read: 12, write: 7, open: 7, fsync: 7 });
  });

  it('keeps maxOps, slowest first', () => {
    const result = parse(fixture('ext4-dm-delay.json'), { maxOps: 1 });
    expect(result.ops.map((o) => o.latencyUs)).toEqual([252449]);
    expect(result.slowOps).toBe(13);
  });
});

describe('ext4slower manifest', () => {
  it('validates the threshold as an integer and passes it first', () => {
    expect(ext4slower.params.parse({})).toEqual({ thresholdMs: 10, maxOps: 50 });
    for (const bad of [{ thresholdMs: -1 }, { thresholdMs: 0.5 }, { maxOps: 1001 }, { fs: 'xfs' }]) {
      expect(ext4slower.params.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
    expect(ext4slower.args(ext4slower.params.parse({ thresholdMs: 0 }), { cgroupIds: [], pid: 42 })).toEqual(['0', '50', '0', '42', ...NO_MORE_CGROUPS]);
  });

  it('has one kprobe variant, program.bt, on the four ext4 file operations', () => {
    expect(ext4slower.variants.map((v) => [v.name, v.programFile === ext4slower.programFile])).toEqual([['kprobe', true]]);
    const program = readFileSync(ext4slower.programFile, 'utf8');
    for (const fn of ['ext4_file_read_iter', 'ext4_file_write_iter', 'ext4_file_open', 'ext4_sync_file']) {
      expect(ext4slower.variants[0]?.requires).toContainEqual({ kind: 'kprobe', function: fn });
      expect(program).toContain(`kprobe:${fn}\n`);
      expect(program).toContain(`kretprobe:${fn}\n`);
    }
  });
});
