import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newInvestigationId } from '../../src/core/ids.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { orchestratorHarness, type OrchestratorHarness } from '../helpers/orchestrator-harness.ts';
import { testS3 } from '../helpers/services.ts';

const NODE = 'resume-node';

/** An orchestrator that picks up a run another one left half-way records each step once per node. */
describe('resuming a run', () => {
  const s3 = testS3();
  let h: OrchestratorHarness;
  beforeAll(async () => {
    h = await orchestratorHarness('resume');
    await h.liveNode(NODE);
    h.agent(NODE, async (job) => ({
      stepId: job.stepId, node: job.node, status: 'succeeded', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(),
      result: { flows: [], total: 0, distinctFlows: 0 }, artifacts: [],
    }));
  });
  afterAll(async () => {
    await h?.close();
    s3.client.destroy();
  });

  it('replaces the entries of a step recorded before a crash (captures queued, progress not saved) instead of adding more', async () => {
    const id = newInvestigationId();
    const startedAt = new Date().toISOString();
    // What a crash right after recording the dispatched step leaves: the entry, and a job that never saved progress.
    await h.records.create({
      id, status: 'running', playbook: 'tcp-retrans', target: { node: NODE }, params: { duration: '1s' }, createdAt: startedAt, startedAt, requestedBy: 'token:test',
      steps: [{ id: 'retrans', title: 'TCP retransmits per flow', tool: 'tcpretrans', node: NODE, status: 'running', startedAt, artifacts: [] }],
      artifacts: [],
    });
    await h.investigations.add('investigate', { id }, { jobId: id });
    await h.start({ store: s3.store, reaperIntervalMs: 60_000 });
    const inv = await h.waitFor(id, (x: Investigation) => x.status === 'succeeded');
    expect(inv.steps.map((s) => [s.id, s.node, s.status])).toEqual([['retrans', NODE, 'succeeded']]);
    // Resumed records from before deadlines get one.
    expect(Date.parse(inv.deadline!)).toBe(Date.parse(startedAt) + 1000 + 60_000 + 30_000 + 30_000);
  });
});
