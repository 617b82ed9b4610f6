import { randomUUID } from 'node:crypto';
import { FlowProducer, Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistry } from '../../src/inventory/node-registry.ts';
import { createLogger } from '../../src/log.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { captureQueue as captureQueueOf } from '../../src/queue/queues.ts';
import { CaptureWatchdog } from '../../workers/orchestrator/watchdog.ts';
import { testRedisUrl, uniquePrefix } from '../helpers/services.ts';

/** Stands in for the investigations queue: the parked parent each capture belongs to. */
const PARENT_QUEUE = 'watchdog-parents';
const LIVE = 'live-node';
const GONE = 'gone-node';

/**
 * The watchdog against real Redis and BullMQ: captures parked under a parent job as the orchestrator dispatches them
 * (a flow), a real node registry, and sweep() called with the clock it is given.
 */
describe('CaptureWatchdog.sweep', () => {
  const prefix = uniquePrefix('watchdog');
  let redis: Redis;
  let registry: NodeRegistry;
  let flows: FlowProducer;
  let parents: Queue;
  let watchdog: CaptureWatchdog;
  const queues = new Map<string, Queue>();
  const captureQueue = (node: string) => {
    let q = queues.get(node);
    if (!q) {
      q = new Queue(captureQueueOf(node).name, { connection: redis, prefix });
      queues.set(node, q);
    }
    return q;
  };

  beforeAll(async () => {
    redis = createRedis(testRedisUrl());
    registry = new NodeRegistry(redis, prefix);
    flows = new FlowProducer({ connection: redis, prefix });
    parents = new Queue(PARENT_QUEUE, { connection: redis, prefix });
    watchdog = new CaptureWatchdog(redis, prefix, registry, captureQueue, createLogger('silent'));
    // Long enough for the whole file: the live node never drops out by expiry mid-test.
    await registry.heartbeat({ name: LIVE, labels: {}, kernel: '6.1.0', agentVersion: 'test', capabilities: {} }, 600_000);
  });
  afterAll(async () => {
    for (const q of queues.values()) await q.close();
    await parents?.close();
    await flows?.close();
    await redis?.quit();
  });

  /** An investigation parked on one capture job on `node`, as runInvestigation leaves it. */
  const parked = async (node: string) => {
    const invId = `inv_${randomUUID()}`;
    const jobId = `${invId}-errors-${node}`;
    const tree = await flows.add({
      name: 'investigate',
      queueName: PARENT_QUEUE,
      data: { id: invId },
      opts: { jobId: invId },
      children: [{ name: 'syscount', queueName: captureQueueOf(node).name, data: { investigationId: invId }, opts: { jobId, ignoreDependencyOnFailure: true } }],
    });
    expect(await tree.job.getState()).toBe('waiting-children');
    return { invId, jobId, parent: tree.job };
  };
  const stateOf = async (node: string, jobId: string) => (await (await captureQueue(node).getJob(jobId))?.getState()) ?? 'gone';
  /** Takes the node's next capture as its agent would: the job becomes active. */
  const take = async (node: string): Promise<{ job: Job; token: string; worker: Worker }> => {
    const worker = new Worker(captureQueueOf(node).name, null, { connection: redis, prefix, autorun: false });
    const token = randomUUID();
    const job = (await worker.getNextJob(token)) as Job | undefined;
    expect(job, `no capture waiting on ${node}`).toBeDefined();
    return { job: job!, token, worker };
  };

  it('gives up on a capture whose node stopped heartbeating, says why, unqueues it and releases the investigation', async () => {
    const { invId, jobId, parent } = await parked(GONE);
    const now = Date.now();
    await watchdog.watch(invId, [{ jobId, node: GONE, deadline: now + 60_000 }]);

    await watchdog.sweep(now);

    expect(await watchdog.lostReason(jobId)).toBe(`node ${GONE} stopped heartbeating during the capture (agent gone)`);
    // Not started: an agent that came back must not run it late.
    expect(await stateOf(GONE, jobId)).toBe('gone');
    expect(await parent.getState()).toBe('waiting');
  });

  it('leaves a capture on a live node alone until its deadline has passed, then gives up on it with the reason', async () => {
    const { invId, jobId, parent } = await parked(LIVE);
    const { job, worker } = await take(LIVE);
    expect(job.id).toBe(jobId);
    const deadline = Date.now() + 5_000;
    await watchdog.watch(invId, [{ jobId, node: LIVE, deadline }]);
    try {
      await watchdog.sweep(deadline - 1_000);
      await watchdog.sweep(deadline);
      expect(await watchdog.lostReason(jobId)).toBeNull();
      expect(await stateOf(LIVE, jobId)).toBe('active');
      expect(await parent.getState()).toBe('waiting-children');

      await watchdog.sweep(deadline + 1);
      expect(await watchdog.lostReason(jobId)).toBe(`capture on node ${LIVE} did not finish by its deadline`);
      // Already running on its agent: released from the parent, but not pulled from under the agent.
      expect(await stateOf(LIVE, jobId)).toBe('active');
      expect(await parent.getState()).toBe('waiting');
    } finally {
      await worker.close();
    }
  });

  it('does not report a capture that finished, even once its node is gone and its deadline passed', async () => {
    const { invId, jobId } = await parked(LIVE);
    const { job, token, worker } = await take(LIVE);
    const deadline = Date.now() + 1_000;
    await watchdog.watch(invId, [{ jobId, node: LIVE, deadline }]);
    try {
      await job.moveToCompleted({ ok: true }, token, false);
      await registry.remove(LIVE);
      await watchdog.sweep(deadline + 60_000);
      expect(await watchdog.lostReason(jobId)).toBeNull();
      expect(await stateOf(LIVE, jobId)).toBe('completed');
    } finally {
      await registry.heartbeat({ name: LIVE, labels: {}, kernel: '6.1.0', agentVersion: 'test', capabilities: {} }, 600_000);
      await worker.close();
    }
  });

  it('forget() stops watching: a forgotten capture is never given up on', async () => {
    const { invId, jobId, parent } = await parked(GONE);
    await watchdog.watch(invId, [{ jobId, node: GONE, deadline: Date.now() - 1 }]);
    await watchdog.forget(invId);

    await watchdog.sweep(Date.now() + 60_000);

    expect(await watchdog.lostReason(jobId)).toBeNull();
    expect(await stateOf(GONE, jobId)).toBe('waiting');
    expect(await parent.getState()).toBe('waiting-children');
  });

  it('watches each capture of a fan-out on its own: every lost one is given up on, the others are left alone', async () => {
    const invId = `inv_${randomUUID()}`;
    const jobOf = (node: string) => `${invId}-errors-${node}`;
    // Four live nodes and four gone: Redis hands a watch list back in no fixed order, and a sweep that stopped at the
    // first capture still fine would leave a lost one behind in all but 1 of the 70 orders.
    const live = ['fan-live-1', 'fan-live-2', 'fan-live-3', 'fan-live-4'];
    const gone = ['fan-gone-1', 'fan-gone-2', 'fan-gone-3', 'fan-gone-4'];
    for (const node of live) await registry.heartbeat({ name: node, labels: {}, kernel: '6.1.0', agentVersion: 'test', capabilities: {} }, 600_000);
    const nodes = [...live, ...gone];
    const tree = await flows.add({
      name: 'investigate',
      queueName: PARENT_QUEUE,
      data: { id: invId },
      opts: { jobId: invId },
      children: nodes.map((node) => ({ name: 'syscount', queueName: captureQueueOf(node).name, data: { investigationId: invId }, opts: { jobId: jobOf(node), ignoreDependencyOnFailure: true } })),
    });
    const now = Date.now();
    await watchdog.watch(invId, nodes.map((node) => ({ jobId: jobOf(node), node, deadline: now + 60_000 })));

    await watchdog.sweep(now);

    for (const node of gone) {
      expect(await watchdog.lostReason(jobOf(node)), node).toBe(`node ${node} stopped heartbeating during the capture (agent gone)`);
      expect(await stateOf(node, jobOf(node)), node).toBe('gone');
    }
    for (const node of live) {
      expect(await watchdog.lostReason(jobOf(node)), node).toBeNull();
      expect(await stateOf(node, jobOf(node)), node).toBe('waiting');
    }
    // Still waiting on the live nodes' captures.
    expect(await tree.job.getState()).toBe('waiting-children');
  });
});
