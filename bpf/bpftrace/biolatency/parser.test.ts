import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it, expect } from 'vitest';
import { splitDev, sysfsDeviceNamer } from '../../block-devices.ts';
import { biolatency } from './manifest.ts';
import { parseBiolatency, parseDevOpKey } from './parser.ts';
import { BiolatencyResult } from './result.ts';
import { NO_MORE_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('biolatency', name);

/** The recording machine's disks: vda (254:0) and the test's loop0 (7:0), detached since. */
const names = (withLoop = true) => (major: number, minor: number) =>
  major === 254 && minor === 0 ? 'vda' : withLoop && major === 7 && minor === 0 ? 'loop0' : null;

const summaryOf = (r: BiolatencyResult['rows'][number]) => [r.device, r.op, r.count, r.p50, r.p90, r.p99, r.mean, r.errors];

const histLine = (data: Record<string, { min: number; max: number; count: number }[]>, errors?: Record<string, number>): string =>
  `{"type": "attached_probes", "data": {"probes": 4}}\n\n\n{"type": "map", "data": {"@complete": 1}}\n` +
  (errors ? `${JSON.stringify({ type: 'map', data: { '@errors': errors } })}\n` : '') +
  `${JSON.stringify({ type: 'hist', data: { '@usecs': data } })}\n`;

describe('biolatency parser on recorded output', () => {
  it("reads a capture filtered to the cgroup that ran dd, without the other dd's 4 KiB writes", () => {
    const result = parseBiolatency(fixture('dd-cgroup.json'), names());
    expect(result.rows.map(summaryOf)).toEqual([
      // 200 × 1 MiB direct reads, which reached the disk as two requests each (debug runs of the same workload
      // saw 2040 + 8 sectors).
      ['vda', 'read', 400, 256, 945.4, 1675.6, 443.9, 0],
      ['vda', 'write', 200, 405.7, 670.9, 988.7, 439.7, 0],
      // 64 MiB read and 16 MiB written in 64 KiB requests on the loop device.
      ['loop0', 'read', 1024, 32.7, 59.6, 127.4, 109.4, 0],
      ['loop0', 'write', 256, 42.8, 63.7, 121.2, 45.5, 0],
    ]);
    expect(result.rows[0]).toMatchObject({ major: 254, minor: 0, maxBucket: { low: 1024, high: 2047 } });
    expect(result.rows[0]?.buckets).toEqual([
      { low: 32, high: 63, count: 79 },
      { low: 64, high: 127, count: 120 },
      { low: 128, high: 255, count: 1 },
      { low: 256, high: 511, count: 0 },
      { low: 512, high: 1023, count: 189 },
      { low: 1024, high: 2047, count: 11 },
    ]);
    expect(result.rows[2]).toMatchObject({ major: 7, minor: 0, maxBucket: { low: 16384, high: 32767 } });
    expect(result).toMatchObject({ unit: 'us', totalRequests: 1880, totalErrors: 0 });
    expect(BiolatencyResult.parse(result)).toEqual(result);
  });

  it('reads a node-wide capture', () => {
    const result = parseBiolatency(fixture('dd-node.json'), names());
    expect(result.rows.map(summaryOf)).toEqual([
      ['vda', 'read', 251, 761.1, 991.6, 1814.3, 760.5, 0],
      // dd's 200 × 1 MiB plus the other dd's 2000 × 4 KiB and the rest of the node.
      ['vda', 'write', 2239, 51.7, 274, 1491.5, 119.8, 0],
      ['vda', 'discard', 12, 109.7, 247.5, 962.6, 172, 0],
      ['loop0', 'read', 1024, 30, 61.8, 353.3, 145.2, 0],
      ['loop0', 'write', 256, 37.1, 106.8, 226.2, 51.8, 0],
    ]);
    expect(result.totalRequests).toBe(3782);
  });

  it('counts failed requests', () => {
    const result = parseBiolatency(fixture('loop-enospc.json'), names());
    expect(result.rows.map(summaryOf)).toEqual([
      // The write that hit the full tmpfs behind loop0, and the ones before it.
      ['loop0', 'write', 17, 70.4, 665.6, 1873.9, 218.8, 1],
      ['vda', 'discard', 31, 90.2, 222.4, 865.3, 123.9, 0],
      ['vda', 'read', 33, 142.8, 343, 495.1, 174.5, 0],
      ['vda', 'write', 2, 96, 121.6, 127.4, 96, 0],
    ]);
    expect(result).toMatchObject({ totalRequests: 83, totalErrors: 1 });
  });

  it('keeps devices that are gone by number', () => {
    const result = parseBiolatency(fixture('dd-cgroup.json'), names(false));
    expect(result.rows.map((r) => [r.device, r.major, r.minor, r.op])).toEqual([
      ['vda', 254, 0, 'read'],
      ['vda', 254, 0, 'write'],
      [null, 7, 0, 'read'],
      [null, 7, 0, 'write'],
    ]);
  });

  it('reports no I/O when bpftrace printed only the completion marker', () => {
    expect(parseBiolatency(fixture('idle-cgroup.json'), names())).toEqual({ unit: 'us', rows: [], totalRequests: 0, totalErrors: 0 });
  });
});

describe('biolatency parser edge cases', () => {
  const dev = (major: number, minor: number) => major * 2 ** 20 + minor;

  it('names every op code and sorts ties by device and op', () => {
    const one = [{ min: 8, max: 15, count: 1 }];
    const result = parseBiolatency(
      histLine({ [`${dev(8, 16)},0`]: one, [`${dev(8, 0)},4`]: one, [`${dev(8, 0)},3`]: one, [`${dev(8, 0)},1`]: one, [`${dev(8, 0)},2`]: one }),
      () => null,
    );
    expect(result.rows.map((r) => `${r.major}:${r.minor} ${r.op}`)).toEqual(['8:0 read', '8:0 write', '8:0 flush', '8:0 discard', '8:16 other']);
  });

  it('refuses malformed keys, also in the error map', () => {
    const one = [{ min: 1, max: 1, count: 1 }];
    expect(() => parseBiolatency(histLine({ '8,5': one }), () => null)).toThrow(/unexpected @usecs key "8,5"/);
    expect(() => parseBiolatency(histLine({ 'sda,1': one }), () => null)).toThrow(/expected "dev,op"/);
    expect(() => parseBiolatency(histLine({ '8,1': one }, { '8,WS': 1 }), () => null)).toThrow(/unexpected @errors key/);
    expect(() => parseBiolatency(fixture('dd-cgroup.json').slice(0, -40), () => null)).toThrow(/line 5 is not JSON/);
  });

  it('splits keys and kernel device numbers', () => {
    expect(parseDevOpKey('@usecs', '266338304,2')).toEqual({ major: 254, minor: 0, op: 'write' });
    expect(splitDev(dev(259, 65537))).toEqual({ major: 259, minor: 65537 });
    expect(splitDev(7340033)).toEqual({ major: 7, minor: 1 });
  });
});

describe('block device names from sysfs', () => {
  const root = mkdtempSync(join(tmpdir(), 'th-sysfs-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads DEVNAME from uevent, once per device', () => {
    mkdirSync(join(root, 'dev', 'block', '259:3'), { recursive: true });
    const uevent = join(root, 'dev', 'block', '259:3', 'uevent');
    writeFileSync(uevent, 'MAJOR=259\nMINOR=3\nDEVNAME=nvme0n1p3\nDEVTYPE=partition\nPARTN=3\n');
    const name = sysfsDeviceNamer(root);
    expect(name(259, 3)).toBe('nvme0n1p3');
    writeFileSync(uevent, 'DEVNAME=renamed\n');
    expect(name(259, 3)).toBe('nvme0n1p3');
    expect(sysfsDeviceNamer(root)(259, 3)).toBe('renamed');
  });

  it('is null for missing devices and uevents without a name', () => {
    mkdirSync(join(root, 'dev', 'block', '1:1'), { recursive: true });
    writeFileSync(join(root, 'dev', 'block', '1:1', 'uevent'), 'MAJOR=1\nMINOR=1\n');
    const name = sysfsDeviceNamer(root);
    expect(name(1, 1)).toBeNull();
    expect(name(7, 99)).toBeNull();
  });
});

describe('biolatency manifest', () => {
  it('takes no params of its own', () => {
    expect(biolatency.params.parse({})).toEqual({});
    expect(biolatency.params.safeParse({ device: 'sda' }).success).toBe(false);
  });

  it('passes cgroup ids and pid as numbers', () => {
    expect(biolatency.args({}, { cgroupIds: [63], pid: 0 })).toEqual(['63', '0', ...NO_MORE_CGROUPS]);
    expect(biolatency.args({}, { cgroupIds: [], pid: 4242 })).toEqual(['0', '4242', ...NO_MORE_CGROUPS]);
    expect(() => biolatency.args({}, { cgroupIds: [Number.NaN], pid: 0 })).toThrow(/cgroup id/);
    // Several cgroups (the containers of the target pods): the first keeps its place, the others go last.
    expect(biolatency.args({}, { cgroupIds: [63, 64], pid: 0 })).toEqual(['63', '0', '64', '0', '0', '0', '0', '0', '0']);
    expect(() => biolatency.args({}, { cgroupIds: [1, 2, 3, 4, 5, 6, 7, 8, 9], pid: 0 })).toThrow(/at most 8 cgroup ids/);
  });

  it('parses with the node sysfs names', () => {
    // Device 0:0 never exists, so this stays independent of the machine's disks.
    const { result, extraArtifacts } = biolatency.parse(histLine({ '0,1': [{ min: 1, max: 1, count: 2 }] }), {}, { arch: 'x64', cgroupPathOf: () => null });
    expect(result.rows.map((r) => [r.device, r.major, r.minor, r.op, r.count])).toEqual([[null, 0, 0, 'read', 2]]);
    expect(extraArtifacts).toEqual([]);
  });

  it('points at its program and declares what it needs', () => {
    const program = readFileSync(biolatency.programFile, 'utf8');
    for (const probe of ['block_bio_queue', 'block_bio_backmerge', 'block_bio_frontmerge', 'block_bio_remap', 'block_split', 'block_rq_insert', 'block_rq_issue', 'block_rq_complete']) expect(program).toContain(`tracepoint:block:${probe}`);
    expect(program).toContain('@complete = 1');
    expect(biolatency.name).toBe('biolatency');
    expect(biolatency.requires).toEqual([
      { kind: 'bpftrace' },
      { kind: 'tracepoint', name: 'block/block_bio_queue' },
      { kind: 'tracepoint', name: 'block/block_bio_backmerge' },
      { kind: 'tracepoint', name: 'block/block_bio_frontmerge' },
      { kind: 'tracepoint', name: 'block/block_bio_remap' },
      { kind: 'tracepoint', name: 'block/block_split' },
      { kind: 'tracepoint', name: 'block/block_rq_insert' },
      { kind: 'tracepoint', name: 'block/block_rq_issue' },
      { kind: 'tracepoint', name: 'block/block_rq_complete' },
    ]);
    expect(biolatency.limits).toEqual({ minDurationMs: 1000, maxDurationMs: 60_000, defaultDurationMs: 10_000, maxOutputBytes: 4 * 1024 * 1024, stopGraceMs: 2_000 });
  });
});
