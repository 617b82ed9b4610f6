import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profile } from '../../bpf/bpftrace/profile/manifest.ts';
import type { BpftraceTool, CaptureTool } from '../../bpf/tool.ts';
import { CaptureCost } from '../../src/core/capture-cost.ts';
import type { Capabilities } from '../../src/core/capabilities.ts';
import { newInvestigationId } from '../../src/core/ids.ts';
import { CaptureJob, CaptureOutcome } from '../../src/queue/jobs.ts';
import { BPF_STATS_SYSCTL } from '../../workers/node-agent/bpf-stats.ts';
import { detectCapabilities } from '../../workers/node-agent/capabilities.ts';
import { executeCapture } from '../../workers/node-agent/capture.ts';
import { ArtifactSpool } from '../../workers/node-agent/spool.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { createBurnerCgroup, type BurnerCgroup } from '../helpers/burner.ts';
import { CGROUP_ROOT, createTestCgroup, sleep, type TestCgroup } from '../helpers/kernel.ts';
import { testS3 } from '../helpers/services.ts';
import { describeSteps, expectStep } from '../helpers/steps.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/*
 * What each capture costs (issue #15 item 4), measured for real: a profile of a CPU burner through the whole
 * service, with a budget so tight that it must be over it; then the agent's capture alone, failing in the ways a
 * capture fails, each time leaving kernel.bpf_stats_enabled as it found it. Changes a sysctl: run under
 * `flock /tmp/th-host.lock`.
 */

const statsSetting = () => readFileSync(BPF_STATS_SYSCTL, 'utf8').trim();

/** Plausible figures of a capture that ran for real: every part measured, the shares between 0 and 1. */
function expectPlausible(cost: CaptureCost | undefined, windowAtLeastMs: number): CaptureCost {
  expect(cost).toBeDefined();
  const c = CaptureCost.parse(cost);
  expect(c.nodeCpuShare).toBeGreaterThan(0);
  expect(c.nodeCpuShare).toBeLessThan(1);
  expect(c.cpuShareOfOneCpu).toBeGreaterThan(0);
  expect(c.cpuShareOfOneCpu).toBeLessThan(c.cpus);
  expect(c.cpuShareOfOneCpu).toBeCloseTo(c.nodeCpuShare * c.cpus, 5);
  expect(c.bpfRunTimeNs).toBeGreaterThan(0);
  expect(c.bpfRunCount).toBeGreaterThan(0);
  expect(c.processCpuNs).toBeGreaterThan(0);
  expect(c.windowMs).toBeGreaterThanOrEqual(windowAtLeastMs);
  expect(c.cpus).toBe(cpus().length);
  expect(c.attachedNodeCpuShare).toBeGreaterThan(0);
  expect(c.attachedNodeCpuShare).toBeLessThan(1);
  expect(c.notes).toEqual([]);
  return c;
}

describe.skipIf(skipBpf)(bpfSuiteName('what a capture costs its node'), () => {
  let before: string;
  beforeAll(() => {
    assertBpf();
    before = statsSetting();
  });
  // Whatever happened, the node's setting is as it was.
  afterAll(() => {
    if (before !== undefined && statsSetting() !== before) writeFileSync(BPF_STATS_SYSCTL, before);
  });

  describe('a profile through the whole service, over a tight budget', () => {
    let sys: TestSystem;
    let burn: BurnerCgroup;

    beforeAll(async () => {
      burn = createBurnerCgroup('cost');
      // 0.01% of the node: a 99 Hz profile of a busy process costs more than that.
      sys = await startSystem({ env: { CAPTURE_COST_BUDGET: '0.01%' } });
    });
    afterAll(async () => {
      burn?.remove();
      await sys?.stop();
    });

    it('records the measured cost in the step, over budget as a finding, in the reports; statistics on only meanwhile', async () => {
      burn.start();
      const res = await sys.post('/v1/investigations', { playbook: 'cpu-profile', target: { cgroup: burn.cg.path }, params: { duration: '3s', hz: 99 } });
      expect(res.status).toBe(202);
      const id = res.json.id as string;
      // While the capture runs the kernel counts BPF run time.
      await sys.waitFor(id, (inv) => inv.steps[0]?.status === 'running');
      let seenOn = false;
      for (let i = 0; i < 60 && !seenOn; i++, await sleep(50)) seenOn = statsSetting() === '1';
      expect(seenOn).toBe(true);

      const inv = await sys.waitFor(id);
      expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
      expect(statsSetting()).toBe(before);
      const step = expectStep(inv, 'cpu', { status: 'succeeded' }, 'test-node');
      const cost = expectPlausible(step.cost, 3000);
      expect(cost.budget).toBe(0.0001);
      expect(cost.overBudget).toBe(true);
      // The profile's program ran about once per sample (99 Hz on each CPU, ~3 s), plus END.
      expect(cost.bpfRunCount).toBeGreaterThan(99 * 2);
      expect(cost.phases!.attached.ms).toBeGreaterThan(1500);

      // The same figures in the API's record, in the stored cost.json and in the finding that points at it.
      const record = await sys.get(`/v1/investigations/${id}`);
      expect((record.json.steps as { cost?: unknown }[])[0]!.cost).toEqual(step.cost);
      const stored = await sys.get(`/v1/investigations/${id}/artifacts/cpu/test-node/cost.json`);
      expect(stored.status).toBe(200);
      expect(JSON.parse(stored.text)).toEqual(step.cost);
      const finding = inv.summary!.findings.find((f) => /over its 0\.01% budget/.test(f.title));
      expect(finding, JSON.stringify(inv.summary!.findings.map((f) => f.title))).toMatchObject({
        severity: 'info',
        confidence: { level: 'high' },
        evidence: [{ artifact: 'cpu/test-node/cost.json', quote: `"attachedNodeCpuShare": ${cost.attachedNodeCpuShare}` }],
      });
      // Judged while attached, where the budget is held (loading is a fixed cost of every capture).
      expect(cost.attachedNodeCpuShare).toBeGreaterThan(0.0001);
      expect(finding!.title).toMatch(/^profile on test-node cost [\d.]+% of the node's CPU while attached, over its 0\.01% budget$/);
      // The cost is a note about the capture, never the headline.
      expect(inv.summary!.headline).toMatch(/crunch_alpha/);

      const md = await sys.get(`/v1/investigations/${id}/artifacts/report.md`);
      expect(md.text).toContain('| step | tool | node | status | duration | cost | note |');
      expect(md.text).toMatch(/\| cpu \| profile \| test-node \| succeeded \| [\d.]+ s \| [\d.]+% of the node \([\d.]+% attached\), over its 0\.01% budget \|/);
      const html = await sys.get(`/v1/investigations/${id}/report`);
      expect(html.text).toMatch(/<td data-label="cost" class="num over-budget" title="[^"]+">[\d.]+% of the node \([\d.]+% attached\), over its 0\.01% budget<\/td>/);
    });
  });

  describe("the agent's capture alone", () => {
    const s3 = testS3();
    let spoolDir: string;
    let spool: ArtifactSpool;
    let capabilities: Capabilities;
    let cg: TestCgroup;
    let busy: ChildProcess | undefined;
    let work: string;

    beforeAll(async () => {
      spoolDir = mkdtempSync(join(tmpdir(), 'th-cost-spool-'));
      work = mkdtempSync(join(tmpdir(), 'th-cost-'));
      spool = await ArtifactSpool.open({ dir: spoolDir, maxBytes: 1024 * 1024, log: pino({ level: 'silent' }) });
      capabilities = await detectCapabilities({ tracefs: '/sys/kernel/tracing', bpftrace: 'bpftrace', cgroupRoot: CGROUP_ROOT });
      cg = createTestCgroup('cost-agent');
      busy = cg.spawn('sh', ['-c', 'while :; do :; done']);
    });
    afterAll(() => {
      busy?.kill('SIGKILL');
      cg?.remove();
      rmSync(spoolDir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
      s3.client.destroy();
    });

    async function capture(tool: CaptureTool, durationMs = 2000) {
      const job = CaptureJob.parse({
        investigationId: newInvestigationId(), stepId: 'cpu', node: 'test-node', tool: tool.name, params: { hz: 99 }, durationMs, scope: { cgroup: cg.path },
      });
      const deps = {
        store: s3.store, spool, capabilities, cgroupRoot: CGROUP_ROOT, bpftrace: 'bpftrace', mapKeysMax: 65_536,
        killGraceMs: 5_000, startupMs: 30_000, maxDurationMs: 120_000, log: pino({ level: 'silent' }), costBudget: 0.5,
        tools: (name: string) => (name === tool.name ? tool : undefined),
      };
      return CaptureOutcome.parse(await executeCapture(job, deps, new AbortController().signal));
    }

    it('reports the cost of a capture that ran and then failed, and puts the setting back', async () => {
      const broken: BpftraceTool = {
        ...(profile as unknown as BpftraceTool),
        name: 'profile-unparsable',
        parse: () => {
          throw new Error('parser broke');
        },
      };
      const outcome = await capture(broken);
      expect(outcome.status).toBe('failed');
      expect(outcome.reason).toBe('agent error: parser broke');
      expect(statsSetting()).toBe(before);
      const cost = expectPlausible(outcome.cost, 2000);
      expect(cost.overBudget).toBe(false);
    });

    it('puts the setting back after a program that never attached', async () => {
      const program = join(work, 'bad.bt');
      writeFileSync(program, 'tracepoint:no_such_subsystem:no_such_event { @n = count(); }\n');
      const bad: BpftraceTool = {
        ...(profile as unknown as BpftraceTool),
        name: 'profile-unloadable',
        variants: profile.variants.map((v) => ({ ...v, programFile: program })),
      };
      const outcome = await capture(bad);
      expect(outcome.status).toBe('failed');
      expect(outcome.reason).toMatch(/did not attach its probes/);
      expect(statsSetting()).toBe(before);
      // It never got to run a program; what bpftrace spent trying is still counted.
      expect(outcome.cost?.bpfRunTimeNs ?? null).toBeNull();
    });

    it('leaves statistics on when they were on before', async () => {
      writeFileSync(BPF_STATS_SYSCTL, '1');
      try {
        const outcome = await capture(profile as unknown as CaptureTool);
        expect(outcome.status, outcome.reason).toBe('succeeded');
        expect(statsSetting()).toBe('1');
        expectPlausible(outcome.cost, 2000);
      } finally {
        writeFileSync(BPF_STATS_SYSCTL, before);
      }
    });
  });
});
