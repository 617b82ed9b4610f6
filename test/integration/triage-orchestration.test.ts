import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { tools } from '../../bpf/index.ts';
import { CpuThrottlingRaw } from '../../bpf/procfs/cpu-throttling/result.ts';
import { summarizeThrottling } from '../../bpf/procfs/cpu-throttling/summarize.ts';
import { TRIAGE_PARTS } from '../../bpf/bpftrace/triage/result.ts';
import type { BpftraceTool } from '../../bpf/tool.ts';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { identity } from '../../src/auth/identity.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { startInvestigation, type IntakeDeps } from '../../src/intake/start.ts';
import { createLogger } from '../../src/log.ts';
import { NotifyTargets } from '../../src/notify/targets.ts';
import { openQueue } from '../../src/queue/open.ts';
import type { CaptureJob, CaptureReply } from '../../src/queue/jobs.ts';
import { captureQueue } from '../../src/queue/queues.ts';
import { startOrchestrator, type Orchestrator } from '../../workers/orchestrator/orchestrator.ts';
import { chainIdentity, whyNotChain } from '../../workers/orchestrator/chain.ts';
import { orchestratorHarness, type OrchestratorHarness } from '../helpers/orchestrator-harness.ts';
import { recordingContext, toolFixture } from '../helpers/recordings.ts';
import { testRedisUrl, testS3 } from '../helpers/services.ts';

/** What each tool answers: real recordings (fixtures/), parsed by the tools' own parsers. */
const BUSY_CPU: Record<string, string> = {
  syscount: 'no-failures.json', runqlat: 'idle-cgroup.json', biolatency: 'idle-cgroup.json', tcpretrans: 'no-retransmits.json',
  tcpconnect: 'no-connects.json', oomkill: 'no-kills.json', execsnoop: 'no-execs.json', profile: 'burner-pid.json',
};
const resultOf = (tool: string): unknown => {
  // cpu-throttling is a native tool: its recording is the readings it took, its result computed from them.
  if (tool === 'cpu-throttling') return summarizeThrottling(CpuThrottlingRaw.parse(JSON.parse(readFileSync(new URL('../../bpf/procfs/cpu-throttling/fixtures/no-quota.json', import.meta.url), 'utf8'))));
  // triage's joint program: each checklist tool's own recording, under its name.
  if (tool === 'triage') return Object.fromEntries(TRIAGE_PARTS.map((p): [string, unknown] => [p.tool, resultOf(p.tool)]));
  const t = tools[tool] as BpftraceTool;
  return t.parse(toolFixture(tool, BUSY_CPU[tool] ?? 'no-samples.json'), t.params.parse({}), recordingContext({})).result;
};

/**
 * Triage through a real orchestrator on real Redis, with a stand-in agent answering recorded results: its two steps (the joint kernel program and the throttling reader)
 * are dispatched at once (parallel), and a dominant signal starts the next playbook through the one door, linked both
 * ways, once.
 */
describe('triage in the orchestrator', () => {
  const s3 = testS3();
  let h: OrchestratorHarness;
  let orchestrator: Orchestrator;
  const queuedAtFirst: number[] = [];
  const received: CaptureJob[] = [];

  beforeAll(async () => {
    h = await orchestratorHarness('triage');
    await h.liveNode('n1');
    const queue = openQueue(captureQueue('n1'), { connection: h.redis, prefix: h.prefix });
    h.agent('n1', async (capture): Promise<CaptureReply> => {
      received.push(capture);
      // Sequential steps would have one capture in the queue (this one) until it answers; parallel ones, both.
      await new Promise((r) => setTimeout(r, 500));
      if (received.length === 1) {
        const counts = await queue.getJobCounts('waiting', 'active', 'prioritized', 'delayed');
        queuedAtFirst.push(Object.values(counts).reduce((a, b) => a + b, 0));
      }
      const at = new Date().toISOString();
      return { stepId: capture.stepId, node: capture.node, status: 'succeeded', startedAt: at, finishedAt: at, result: resultOf(capture.tool), artifacts: [] };
    });
    const redis = h.redis;
    const intake: IntakeDeps = {
      playbooks: h.playbooks, inventory: null, records: h.records, investigations: h.investigations,
      audit: new AuditLog(redis, h.prefix, createLogger('silent')), notifyTargets: new NotifyTargets(redis, h.prefix),
      limiter: null, limits: { maxDurationMs: 60_000, maxHz: 999 }, log: createLogger('silent'),
    };
    orchestrator = await startOrchestrator({
      playbooks: h.playbooks, inventory: null, redis: testRedisUrl(), prefix: h.prefix, store: s3.store, log: createLogger('silent'),
      watchdogIntervalMs: 200, reaperIntervalMs: 60_000,
      hooks: {
        chain: (from, playbook) =>
          startInvestigation(intake, identity(from.requestedBy, ['investigations:write']), { playbook, ...(from.target ? { target: from.target } : {}), params: { duration: '1s' } }, { chainedFrom: from.id }),
      },
    });
  }, 60_000);
  afterAll(async () => {
    await orchestrator?.close();
    await h?.close();
    s3.client.destroy();
  });

  it('dispatches its steps at once, and chains into cpu-profile when the CPU signal dominates', async () => {
    const id = await h.investigate('triage', { cgroup: '/app', node: 'n1' }, { duration: '1s' });
    const inv = await h.waitFor(id, (x: Investigation) => x.status !== 'queued' && x.status !== 'running', 30_000);
    expect(inv.status).toBe('succeeded');
    // Before the agent answered its first capture, every one of the eight was queued for it.
    expect(queuedAtFirst).toEqual([2]);
    expect(inv.steps.map((s) => `${s.id}:${s.status}`)).toEqual(['kernel', 'throttle'].map((s) => `${s}:succeeded`));
    expect(inv.summary?.nextPlaybook).toMatchObject({ playbook: 'cpu-profile', chain: true });

    const linked = await h.waitFor(id, (x) => x.next !== undefined, 10_000);
    const chained = await h.waitFor(linked.next!.id, (x) => x.status === 'succeeded', 30_000);
    expect(linked.next).toEqual({ id: chained.id, playbook: 'cpu-profile' });
    expect(chained).toMatchObject({ playbook: 'cpu-profile', chainedFrom: id, requestedBy: 'token:test', target: { cgroup: '/app', node: 'n1' } });
    expect(chained.summary?.headline).toMatch(/^Hottest function on n1: crunch_alpha/);
    // One hop: the chained run names no next investigation, and a triage chained from another would not chain.
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.records.find(chained.id))?.next).toBeUndefined();
    expect(whyNotChain({ ...inv, chainedFrom: 'inv_other' })).toBe('it was itself chained from inv_other');
    expect(whyNotChain(linked)).toBe(`it already started ${chained.id}`);
  }, 60_000);

  it('starts a chain as the requester may act now, and not at all where that cannot be judged', () => {
    const access = {
      tokens: [{ name: 'ci', sha256: 'a'.repeat(64), scopes: ['investigations:write' as const], playbooks: ['triage'] }],
      slack: { rules: [{ users: ['U1'], write: true }] },
    };
    const who = chainIdentity(access, 'token:ci');
    expect(who?.playbooks).toEqual(['triage']);
    expect(chainIdentity(access, 'token:gone')).toBeNull();
    expect(chainIdentity(access, 'slack:U1')).toBeNull();
    expect(chainIdentity({ ...access, slack: { rules: [] } }, 'slack:U1')?.requestedBy).toBe('slack:U1');
    expect(chainIdentity(access, 'schedule:nightly')?.playbooks).toBeNull();
    expect(chainIdentity(access, 'link')).toBeNull();
  });
});
