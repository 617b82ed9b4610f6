import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CpuThrottlingRaw, CpuThrottlingResult } from './result.ts';
import { parseQuota, summarizeThrottling } from './summarize.ts';

/** The readings recorded from real throttled cgroups (fixtures/README.md) → the result. */
const fixture = (name: string) => CpuThrottlingRaw.parse(JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), 'utf8')));

describe('cpu-throttling over recorded readings', () => {
  it('a 20 ms per 100 ms quota: 0.2 CPU, throttled in most periods, the quota used up, the loop named', () => {
    const r = CpuThrottlingResult.parse(summarizeThrottling(fixture('quota-20ms')));
    expect(r.cgroups).toHaveLength(1);
    const [c] = r.cgroups;
    expect(c).toMatchObject({ hierarchy: 'v1', leaf: true, quota: { cpus: 0.2, quotaUs: 20_000, periodUs: 100_000 }, periods: 30, throttledPeriods: 30, throttledShare: 1, usageSource: 'processes' });
    expect(c!.throttledUs).toBe(1_626_553);
    expect(c!.targetCgroups).toEqual(['/tracehound-test-fixture-quota-67e98a']);
    // 60 ticks of CPU in 3.0 s: all of a 0.2 CPU quota.
    expect(c!.usageCpus).toBeCloseTo(0.2, 3);
    expect(c!.usageOfQuota).toBeCloseTo(1, 2);
    expect(c!.processes[0]).toMatchObject({ comm: 'th-spinner', cpuUs: 600_000, share: 1 });
    expect(r).toMatchObject({ withQuota: 1, throttled: 1, note: null, windowMs: 3005 });
  });

  it('no quota anywhere: nothing throttled, and says so rather than reporting zeros as a finding', () => {
    const r = summarizeThrottling(fixture('no-quota'));
    expect(r.cgroups.map((c) => [c.quota, c.throttledPeriods])).toEqual([[null, 0]]);
    expect(r.withQuota).toBe(0);
    expect(r.note).toMatch(/^no CPU quota is set on \/tracehound-incident-fixture-\w+ \(v1\) or any cgroup above: the target cannot be throttled/);
  });

  it("a pod-level quota above the container: the ancestor is reported with the container's processes", () => {
    const r = summarizeThrottling(fixture('parent-quota'));
    const [pod, container] = r.cgroups;
    // 0.37 CPU of a 0.5 CPU quota: the quota ran out in 1 period of 60 (the machine was busy with other work).
    expect(pod).toMatchObject({ leaf: false, quota: { cpus: 0.5 }, periods: 60, throttledPeriods: 1, usageCpus: 0.373 });
    expect(pod!.processes[0]?.comm).toBe('th-spinner');
    expect(container).toMatchObject({ leaf: true, quota: null, throttledPeriods: 0 });
    expect(container!.path).toBe(`${pod!.path}/container`);
    expect(r.note).toBeNull();
  });

  it('reads quotas as the kernel prints them', () => {
    expect(parseQuota({ hierarchy: 'v2', quota: 'max 100000', period: null })).toBeNull();
    expect(parseQuota({ hierarchy: 'v2', quota: '150000 100000', period: null })).toEqual({ quotaUs: 150_000, periodUs: 100_000, cpus: 1.5 });
    expect(parseQuota({ hierarchy: 'v1', quota: '-1', period: '100000' })).toBeNull();
    expect(parseQuota({ hierarchy: 'v1', quota: '5000', period: '100000' })).toEqual({ quotaUs: 5000, periodUs: 100_000, cpus: 0.05 });
  });
});
