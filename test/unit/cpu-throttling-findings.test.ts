import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { tools } from '../../bpf/index.ts';
import { CpuThrottlingRaw } from '../../bpf/procfs/cpu-throttling/result.ts';
import { summarizeThrottling } from '../../bpf/procfs/cpu-throttling/summarize.ts';
import type { BpftraceTool } from '../../bpf/tool.ts';
import { Investigation, Summary, type Step } from '../../src/core/investigation.ts';
import { summarizeCpuThrottling } from '../../src/findings/cpu-throttling.ts';
import { loadPlaybooks } from '../../src/playbooks/load.ts';
import type { Playbook } from '../../src/playbooks/playbook.ts';
import { recordingContext, toolFixture } from '../helpers/recordings.ts';
import { summaryProblems } from '../helpers/summary-lint.ts';

/** The cpu-throttling playbook's findings over real readings (bpf/procfs/cpu-throttling/fixtures) and runqlat recordings. */
const throttle = (fixture: string): Step => ({
  id: 'throttle', tool: 'cpu-throttling', node: 'n1', status: 'succeeded',
  result: summarizeThrottling(CpuThrottlingRaw.parse(JSON.parse(readFileSync(new URL(`../../bpf/procfs/cpu-throttling/fixtures/${fixture}`, import.meta.url), 'utf8')))),
  artifacts: ['throttle/n1/raw.json', 'throttle/n1/result.json'],
});
const runq = (fixture: string): Step => {
  const t = tools.runqlat as BpftraceTool;
  return { id: 'runq', tool: 'runqlat', node: 'n1', status: 'succeeded', result: t.parse(toolFixture('runqlat', fixture), t.params.parse({}), recordingContext({})).result, artifacts: ['runq/n1/result.json'] };
};
const summarize = (steps: Step[]) => summarizeCpuThrottling({ steps, stepId: 'throttle', durationText: '3s' });

describe('cpu-throttling findings', () => {
  let playbook: Playbook;
  beforeAll(async () => {
    playbook = (await loadPlaybooks()).find((p) => p.name === 'cpu-throttling')!;
  });

  it('a cgroup held to 0.2 CPU: the headline names the quota, the share of periods, the time and the process', () => {
    const d = summarize([throttle('quota-20ms.json'), runq('idle-cgroup.json')]);
    expect(d.headline).toMatch(
      /^CPU throttled: \/tracehound-test-fixture-quota-\w+ \(v1 cpu cgroup \/tracehound-incident-fixture-\w+\) hit its quota of 0\.2 CPU in 100% of periods, throttled 1\.6 s of 3\.0 s; th-spinner \(pid \d+\) uses most \(0\.2 CPU\)$/,
    );
    const [f] = d.findings;
    expect(f).toMatchObject({ severity: 'critical', confidence: { level: 'high' }, evidence: [{ artifact: 'throttle/n1/result.json', rows: ['/cgroups/0'] }] });
    expect(f!.detail).toMatch(/^30 of 30 periods ran out of quota \(20 ms of CPU time every 100 ms\); it used 0\.2 CPU of its 0\.2 CPU \(100% of the quota\), summed over its processes\./);
    expect(f!.next?.commands[0]).toMatch(/^grep \. \/sys\/fs\/cgroup\/cpu\/tracehound-incident-fixture-\w+\/cpu\.stat /);
    expect(d.findings.map((x) => x.title)).toContainEqual(expect.stringMatching(/^Ruled out: run-queue latency — p99 /));
  });

  it('a pod-level quota rarely hit: ruled out with its figures; contention on the run queue is said as such', () => {
    const d = summarize([throttle('parent-quota.json'), runq('hogs-cgroup.json')]);
    expect(d.findings[0]).toMatchObject({ severity: 'info', title: expect.stringMatching(/^Ruled out on n1: CPU throttling — throttled in 1\.7% of periods at most \(quota 0\.5 CPU on /) });
    expect(d.headline).toMatch(/^Not throttled, but runnable tasks in .+ wait [\d.]+ ms for a CPU \(p99\): CPU contention$/);
  });

  it('no quota at all: says the target cannot be throttled, never a guessed cause', () => {
    const d = summarize([throttle('no-quota.json'), runq('idle-cgroup.json')]);
    expect(d.headline).toMatch(/^Not CPU-limited in 3s: CPU throttling — no CPU quota on the target; run-queue latency — /);
    expect(d.findings.every((f) => f.severity === 'info')).toBe(true);
    expect(d.findings[0]!.detail).toMatch(/^no CPU quota is set on .* or any cgroup above: the target cannot be throttled/);
  });

  it.each(['quota-20ms.json', 'parent-quota.json', 'no-quota.json'])('the playbook reads well over %s', (fixture) => {
    const steps = [throttle(fixture), runq('hogs-cgroup.json')];
    const inv = Investigation.parse({ id: 'inv_x', status: 'succeeded', playbook: 'cpu-throttling', params: {}, createdAt: '2026-12-06T00:00:00Z', requestedBy: 'token:t', target: { cgroup: '/app' }, steps, artifacts: [] });
    const summary = Summary.parse(playbook.summarize({ investigation: inv, params: { duration: 3000 }, steps }));
    expect(summaryProblems(summary, steps)).toEqual([]);
    expect(playbook.parallel).toBe(true);
  });
});
