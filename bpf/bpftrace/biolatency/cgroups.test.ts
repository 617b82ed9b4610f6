import { describe, expect, it } from 'vitest';
import { toolFixture } from '../../../test/helpers/recordings.ts';
import { parseBiolatency } from './parser.ts';
import { BiolatencyResult } from './result.ts';

/** The per-cgroup map (@cgusecs): the same device times by submitting cgroup, from one node-wide capture. */
describe('biolatency by submitting cgroup', () => {
  const vda = (major: number, minor: number) => (major === 254 && minor === 0 ? 'vda' : null);

  it('reads the recorded node-wide capture: the dd cgroup holds its 200 direct requests', () => {
    const paths = new Map([[55828, '/fixture-bio-pods'], [1, '/']]);
    const result = parseBiolatency(toolFixture('biolatency', 'dd-node-cgroups.json'), vda, (id) => paths.get(id) ?? null);
    expect(BiolatencyResult.parse(result)).toEqual(result);
    expect(result.cgroups?.map((c) => [c.cgroupId, c.cgroup, c.count])).toEqual([
      [55828, '/fixture-bio-pods', 201],
      [1, '/', 16],
    ]);
    const dd = result.cgroups![0]!;
    // Exactly the buckets bpftrace printed, empty ones included.
    expect(dd.buckets).toEqual([
      { low: 64, high: 127, count: 1 },
      { low: 128, high: 255, count: 1 },
      { low: 256, high: 511, count: 97 },
      { low: 512, high: 1023, count: 93 },
      { low: 1024, high: 2047, count: 7 },
      { low: 2048, high: 4095, count: 0 },
      { low: 4096, high: 8191, count: 0 },
      { low: 8192, high: 16383, count: 0 },
      { low: 16384, high: 32767, count: 2 },
    ]);
    // Every completed request is in one cgroup's histogram: the per-cgroup map adds up to the per-device one.
    expect(result.cgroups!.reduce((n, c) => n + c.count, 0)).toBe(result.totalRequests);
  });

  it('leaves the field out when no request completed, as results of the older program never had it', () => {
    const result = parseBiolatency(toolFixture('biolatency', 'idle-cgroup.json'), vda);
    expect('cgroups' in result).toBe(false);
  });

  it('refuses a key that is not a cgroup id', () => {
    const out = `{"type": "map", "data": {"@complete": 1}}\n${JSON.stringify({ type: 'hist', data: { '@cgusecs': { 'x,1': [{ min: 1, max: 1, count: 1 }] } } })}\n`;
    expect(() => parseBiolatency(out, vda)).toThrow(/expected a cgroup id/);
  });
});
