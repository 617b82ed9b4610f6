import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { biosnoop } from './manifest.ts';
import { parseBiosnoop, parseGroupKey, parseSlowKey } from './parser.ts';
import { BiosnoopResult } from './result.ts';
import { NO_MORE_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('biosnoop', name);

/** The recording guest's devices: loop1 (7:1) over dm-delay 50 ms, loop2 (7:2) plain; all detached since. */
const names = (major: number, minor: number) => (major === 7 ? `loop${minor}` : null);
const limits = (over: object = {}) => ({ minLatencyUs: 1000, maxRequests: 50, maxGroups: 100, ...over });

const doc = (data: object, type = 'map') => JSON.stringify({ type, data });
const output = (maps: Record<string, unknown>, hist: Record<string, unknown> = {}) =>
  [doc({ probes: 4 }, 'attached_probes'), '', doc({ '@complete': 1 }), ...Object.entries(maps).map(([k, v]) => doc({ [k]: v })), doc({ '@usecs': hist }, 'hist')].join('\n') + '\n';

describe('biosnoop parser on recorded output', () => {
  it("reads a cgroup's direct I/O on a device behind dm-delay 50 ms and on a plain loop device (Debian 12, 6.1)", () => {
    const result = parseBiosnoop(fixture('dm-delay-cgroup.json'), limits(), names);
    expect(BiosnoopResult.parse(result)).toEqual(result);
    expect(result.groups.map((g) => [g.comm, g.pid, g.device, g.op, g.count, g.bytes, g.maxUs, g.errors])).toEqual([
      ['dd', 215, 'loop1', 'write', 20, 20 * 65536, 63886, 0],
      ['dd', 216, 'loop1', 'read', 10, 10 * 65536, 57119, 0],
      ['dd', 217, 'loop2', 'write', 100, 100 * 4096, 4626, 0],
    ]);
    // Every request to the delayed device took at least the 50 ms delay: its histogram has one bucket.
    expect(result.groups[0]).toMatchObject({ major: 7, minor: 1, maxBucket: { low: 32768, high: 65535 }, buckets: [{ low: 32768, high: 65535, count: 20 }] });
    expect(result.groups[2]?.p50).toBeLessThan(128);
    expect(result.totalRequests).toBe(130);
    expect(result.totalBytes).toBe(20 * 65536 + 10 * 65536 + 400 * 1024);
    expect(result.totalErrors).toBe(0);
    // 30 delayed requests and one 4.6 ms write on loop2 were over 1 ms; all were kept (at most 50).
    expect(result.slowRequests).toBe(31);
    expect(result.requests).toHaveLength(31);
    expect(result.requests[0]).toEqual({ latencyUs: 63886, op: 'write', device: 'loop1', major: 7, minor: 1, sector: 0, bytes: 65536, error: 0, pid: 215, comm: 'dd' });
    expect(result.requests.slice(0, 30).every((r) => r.device === 'loop1' && r.latencyUs >= 50_000)).toBe(true);
    expect(result.requests[30]).toMatchObject({ latencyUs: 4626, device: 'loop2', sector: 592, bytes: 4096, pid: 217 });
    // The dd outside the cgroup (8 KiB writes to loop2: no group) and the dm worker's requests on loop0 were filtered out
    // in the kernel.
    expect(result.groups.some((g) => g.minor === 0)).toBe(false);
  });

  it('keeps the slowest maxRequests and maxGroups, counting all', () => {
    const result = parseBiosnoop(fixture('dm-delay-cgroup.json'), limits({ maxRequests: 2, maxGroups: 1 }), names);
    expect(result.requests.map((r) => r.latencyUs)).toEqual([63886, 58880]);
    expect(result.groups.map((g) => g.pid)).toEqual([215]);
    expect(result.distinctGroups).toBe(3);
    expect(result.totalRequests).toBe(130);
  });

  it('leaves a detached device unnamed', () => {
    const result = parseBiosnoop(fixture('dm-delay-cgroup.json'), limits(), () => null);
    expect(result.groups.every((g) => g.device === null && g.major === 7)).toBe(true);
  });
});

describe('biosnoop parser edge cases', () => {
  it('splits keys whose comm holds commas, and refuses malformed ones', () => {
    expect(parseGroupKey('@requests', '2,7340033,42,a,b')).toEqual({ op: 'write', dev: 7340033, pid: 42, comm: 'a,b' });
    expect(parseSlowKey('100,1,7340033,8,4096,-5,42,x,y')).toEqual({ latencyUs: 100, op: 'read', dev: 7340033, sector: 8, bytes: 4096, error: -5, pid: 42, comm: 'x,y' });
    expect(() => parseGroupKey('@requests', '9,1,1,x')).toThrow(/op 9 is not 0-4/);
    expect(() => parseSlowKey('1,2,3')).toThrow(/expected "us,op,dev,sector,bytes,error,pid,comm"/);
  });

  it('counts errors and refuses maps that disagree', () => {
    const key = '2,7340033,42,dd';
    const ok = output({ '@requests': { [key]: 2 }, '@bytes': { [key]: 8192 }, '@max_us': { [key]: 9 }, '@errors': { [key]: 1 } }, { [key]: [{ min: 8, max: 15, count: 2 }] });
    expect(parseBiosnoop(ok, limits(), names)).toMatchObject({ totalErrors: 1, groups: [{ errors: 1, count: 2, maxUs: 9 }] });
    const badCount = output({ '@requests': { [key]: 3 } }, { [key]: [{ min: 8, max: 15, count: 2 }] });
    expect(() => parseBiosnoop(badCount, limits(), names)).toThrow(/holds 2 requests, @requests 3/);
    expect(() => parseBiosnoop(output({ '@requests': { [key]: 1 } }), limits(), names)).toThrow(/no @usecs histogram/);
    expect(() => parseBiosnoop(output({ '@requests': {}, '@bytes': { [key]: 1 } }), limits(), names)).toThrow(/no @requests entry/);
    expect(() => parseBiosnoop(fixture('dm-delay-cgroup.json').slice(0, -30), limits(), names)).toThrow(/not JSON/);
  });

  it('is empty for a capture without I/O', () => {
    expect(parseBiosnoop(output({}), limits(), names)).toEqual({
      unit: 'us', minLatencyUs: 1000, requests: [], slowRequests: 0, groups: [], distinctGroups: 0, totalRequests: 0, totalBytes: 0, totalErrors: 0,
    });
  });
});

describe('biosnoop manifest', () => {
  it('validates params strictly and passes threshold and count before the scope', () => {
    expect(biosnoop.params.parse({})).toEqual({ minLatencyUs: 1000, maxRequests: 50, maxGroups: 100 });
    expect(biosnoop.params.safeParse({ maxRequests: 0 }).success).toBe(false);
    expect(biosnoop.params.safeParse({ minLatencyUs: -1 }).success).toBe(false);
    expect(biosnoop.params.safeParse({ minLatencyUs: 1.5 }).success).toBe(false);
    expect(biosnoop.params.safeParse({ device: 'sda' }).success).toBe(false);
    expect(biosnoop.args(biosnoop.params.parse({ minLatencyUs: 5000 }), { cgroupIds: [63], pid: 9 })).toEqual(['5000', '50', '63', '9', ...NO_MORE_CGROUPS]);
  });

  it('has one tracepoint variant, program.bt', () => {
    expect(biosnoop.variants.map((v) => [v.name, v.programFile === biosnoop.programFile])).toEqual([['tracepoint', true]]);
    expect(readFileSync(biosnoop.programFile, 'utf8')).toContain('tracepoint:block:block_rq_complete');
  });
});
