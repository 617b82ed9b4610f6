import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Investigation } from '../../src/core/investigation.ts';
import { NodeRegistry } from '../../src/inventory/node-registry.ts';
import { createLogger } from '../../src/log.ts';
import { captureJobId } from '../../workers/orchestrator/dispatch-plan.ts';
import { startOrchestrator, type Orchestrator } from '../../workers/orchestrator/orchestrator.ts';
import { countingProxy, type CountingProxy } from '../helpers/counting-proxy.ts';
import { orchestratorHarness, type OrchestratorHarness } from '../helpers/orchestrator-harness.ts';
import { testRedisUrl, testS3 } from '../helpers/services.ts';

const NODES = 120;

/**
 * A fleet-wide run over many nodes (stand-in agents answering at once) through a real orchestrator whose Redis
 * traffic is counted: dispatching and collecting each step take a few exchanges whatever the number of nodes, and
 * the watchdog looks at every watched capture in a few more — not several per node and step.
 */
describe('fan-out over many nodes', () => {
  const s3 = testS3();
  let h: OrchestratorHarness;
  let proxy: CountingProxy;
  let orchestrator: Orchestrator;
  const nodes = Array.from({ length: NODES }, (_, i) => `fan-${String(i).padStart(3, '0')}`);

  beforeAll(async () => {
    h = await orchestratorHarness('fanout');
    proxy = await countingProxy(testRedisUrl());
    for (const node of nodes) {
      await h.liveNode(node);
      h.agent(node, async (job) => ({ stepId: job.stepId, node: job.node, status: 'skipped', reason: 'stand-in agent', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), artifacts: [] }));
    }
    orchestrator = await startOrchestrator({
      playbooks: h.playbooks, inventory: null, redis: proxy.url, prefix: h.prefix, store: s3.store, log: createLogger('silent'), watchdogIntervalMs: 1000, reaperIntervalMs: 60_000,
    });
  }, 60_000);
  afterAll(async () => {
    await orchestrator?.close();
    await h?.close();
    await proxy?.close();
    s3.client.destroy();
  });

  it(`runs a five-step sweep over ${NODES} nodes in a bounded number of Redis exchanges, each step recorded once per node`, async () => {
    const before = proxy.sent();
    const id = await h.investigate('health-sweep', undefined, { duration: '1s' });
    const inv = await h.waitFor(id, (x: Investigation) => x.status !== 'queued' && x.status !== 'running', 60_000);
    const exchanges = proxy.sent() - before;

    const steps = h.playbooks.find((p) => p.name === 'health-sweep')!.steps.map((s) => s.id);
    expect(inv.steps.map((s) => `${s.id}/${s.node}/${s.status}`).sort()).toEqual(steps.flatMap((step) => nodes.map((node) => `${step}/${node}/skipped`)).sort());
    // The path before #12 made three exchanges per node and step (capabilities, the job, the watchdog's reason):
    // 5 × 120 × 3 = 1,800, and its watchdog three per watched capture at every look. Batched, a step costs about ten.
    expect(exchanges, `${exchanges} exchanges with Redis for ${steps.length} steps on ${NODES} nodes`).toBeLessThan(steps.length * 40);
  }, 90_000);
});

/**
 * Dispatch past one transaction's worth of capture jobs (dispatch.ts adds them in chunks): every node of a large
 * fleet gets its one capture job, a child of the investigation's job, and its running entry on the record.
 */
describe('dispatch over more nodes than one transaction holds', () => {
  const s3 = testS3();
  let h: OrchestratorHarness;
  const LARGE = 1_234;
  const fleet = Array.from({ length: LARGE }, (_, i) => `big-${String(i).padStart(4, '0')}`);

  beforeAll(async () => {
    h = await orchestratorHarness('fanout-large');
    // Heartbeats that outlive the test, written at once: no agent answers, so the run stays parked on its captures.
    const registry = new NodeRegistry(h.redis, h.prefix);
    await Promise.all(fleet.map((name) => registry.heartbeat({ name, labels: {}, kernel: '6.1.0', agentVersion: 'test', capabilities: {} }, 600_000)));
    await h.start({ store: s3.store, reaperIntervalMs: 60_000 });
  });
  afterAll(async () => {
    await h?.close();
    s3.client.destroy();
  });

  it(`queues one capture job per node for ${LARGE} nodes, each a child of the run, and records each node once`, async () => {
    const id = await h.investigate('health-sweep', undefined, { duration: '1s' });
    const inv = await h.waitFor(id, (x: Investigation) => x.steps.length > 0, 60_000);
    expect(inv.steps.map((s) => `${s.id}/${s.node}/${s.status}`).sort()).toEqual(fleet.map((node) => `errors/${node}/running`));

    const parent = await h.investigations.getJob(id);
    // The record is written just before the run parks its job.
    await vi.waitFor(async () => expect(await parent?.getState()).toBe('waiting-children'), { timeout: 10_000 });
    const { unprocessed = [] } = (await parent!.getDependencies({ unprocessed: { count: LARGE * 2 } })) as { unprocessed?: string[] };
    expect(unprocessed.map((key) => key.slice(key.lastIndexOf(':') + 1)).sort()).toEqual(fleet.map((node) => captureJobId(id, 'errors', node)));
  }, 90_000);
});
