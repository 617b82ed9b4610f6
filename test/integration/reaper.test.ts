import { Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newInvestigationId } from '../../src/core/ids.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { createRedis } from '../../src/redis/connection.ts';
import type { CaptureJob, CaptureReply } from '../../src/queue/jobs.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import type { Orchestrator } from '../../workers/orchestrator/orchestrator.ts';
import { orchestratorHarness, type OrchestratorHarness } from '../helpers/orchestrator-harness.ts';
import { testRedisUrl, testS3 } from '../helpers/services.ts';

const answer = (job: CaptureJob): CaptureReply => ({
  stepId: job.stepId, node: job.node, status: 'succeeded', startedAt: ago(1000), finishedAt: ago(0), result: { flows: [], total: 0, distinctFlows: 0 }, artifacts: [],
});
const ended = (inv: Investigation) => ['succeeded', 'failed', 'cancelled'].includes(inv.status);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const NODE = 'reaper-node';
/** A node whose agent is slow to come: its captures wait in the queue. */
const PARKED = 'parked-node';

/** Real Redis and BullMQ: records that would stay queued or running for ever are ended, and healthy ones are not. */
describe('nothing stays running', () => {
  const s3 = testS3();
  let h: OrchestratorHarness;
  let running: Orchestrator[] = [];
  beforeAll(async () => {
    h = await orchestratorHarness('reaper');
    await h.liveNode(NODE);
    await h.liveNode(PARKED);
  });
  afterEach(async () => {
    for (const o of running) await h.stop(o);
    running = [];
  });
  afterAll(async () => {
    await h?.close();
    s3.client.destroy();
  });
  const start = async (reaperIntervalMs: number) => {
    const o = await h.start({ store: s3.store, reaperIntervalMs });
    running.push(o);
    return o;
  };
  /** A record as the orchestrator leaves it while running, with no job behind it. */
  const orphan = async (over: Partial<Investigation>) => {
    const id = newInvestigationId();
    await h.records.create({
      id, status: 'running', playbook: 'tcp-retrans', target: { node: NODE }, params: { duration: 1000 }, createdAt: ago(60_000), startedAt: ago(59_000),
      deadline: new Date(Date.now() + 600_000).toISOString(), requestedBy: 'token:test', steps: [], artifacts: [], ...over,
    });
    return id;
  };

  it('ends a record whose job is gone, with the reason, tells, and publishes the cancel so agents stop', async () => {
    const sub = createRedis(testRedisUrl());
    const cancels: string[] = [];
    await sub.subscribe(h.records.cancelChannel);
    sub.on('message', (_c: string, id: string) => cancels.push(id));
    const id = await orphan({ steps: [{ id: 'retrans', tool: 'tcpretrans', node: NODE, status: 'running', startedAt: ago(50_000), artifacts: [] }] });
    const neverStarted = await orphan({ status: 'queued', startedAt: undefined, deadline: undefined, steps: [] });
    // Intake writes the record before its job: a young record without a job is left alone.
    const young = await orphan({ status: 'queued', createdAt: new Date().toISOString(), startedAt: undefined, deadline: undefined });
    await start(100);

    const inv = await h.waitFor(id, ended);
    expect(inv).toMatchObject({
      status: 'failed',
      reason: 'the orchestrator lost this investigation: its job is no longer in the queue (Redis lost it, or it was removed)',
      summary: { headline: expect.stringMatching(/^Investigation failed: the orchestrator lost this investigation/) },
    });
    expect(inv.steps[0]).toMatchObject({ status: 'cancelled' });
    expect(await h.waitFor(neverStarted, ended)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^never started: its job is no longer in the queue/) });
    expect(await h.records.isCancelRequested(id)).toBe(true);
    await expect.poll(() => cancels).toContain(id);
    expect(h.finals.filter((x) => x === id)).toHaveLength(1);
    await sleep(500);
    expect((await h.records.get(young)).status).toBe('queued');
    await sub.quit();
  });

  it('ends a running investigation past its deadline, saying where it stood, and its late capture changes nothing', async () => {
    await start(100);
    const id = await h.investigate('tcp-retrans', { node: PARKED }, { duration: '1s' });
    // No agent consumes the node's queue yet: the capture waits and the investigation parks, healthy.
    const parked = await h.waitFor(id, (inv) => inv.steps.some((s) => s.status === 'running'));
    expect(Date.parse(parked.deadline!) - Date.parse(parked.startedAt!)).toBe(1000 + 60_000 + 30_000 + 30_000);
    await sleep(600);
    expect((await h.records.get(id)).status).toBe('running');

    // Time passes: the deadline is behind it (2m 9s after it started).
    await h.records.update(id, (cur) => ({ ...cur, startedAt: ago(130_000), deadline: ago(1000) }));
    const inv = await h.waitFor(id, ended);
    expect(inv).toMatchObject({ status: 'failed', reason: `no result within its deadline of 2m 9s (still waiting for step retrans on ${PARKED})` });
    expect(await h.records.isCancelRequested(id)).toBe(true);

    // The capture answers after all: the parked job resumes, sees the record ended and leaves it.
    h.agent(PARKED, async (job) => answer(job));
    await expect.poll(async () => (await h.investigations.getJob(id))?.getState(), { timeout: 10_000 }).toBe('completed');
    expect(await h.records.get(id)).toEqual(inv);
  });

  it('ends a record by its deadline even when the next regular sweep would come after it', async () => {
    // Sweeps every 4 s; the deadline lands between two of them. A record that is live until then must still have
    // ended when its deadline comes, not up to a sweep interval later.
    const id = await orphan({ deadline: new Date(Date.now() + 6_500).toISOString() });
    const job = await h.investigations.add('investigate', { id }, { jobId: id, delay: 600_000 });
    await start(4_000);
    const inv = await h.waitFor(id, ended, 15_000);
    expect(inv.reason).toMatch(/^no result within its deadline/);
    expect(Date.parse(inv.finishedAt!)).toBeLessThanOrEqual(Date.parse(inv.deadline!));
    await job.remove();
  });

  it('does not reap a healthy investigation: it runs to its end', async () => {
    h.agent(NODE, async (job) => {
      await sleep(job.durationMs);
      return answer(job);
    });
    await start(50);
    const id = await h.investigate('tcp-retrans', { node: NODE }, { duration: '1s' });
    await h.waitFor(id, (inv) => inv.status === 'running');
    await sleep(800);
    const inv = await h.waitFor(id, ended);
    expect(inv).toMatchObject({ status: 'succeeded', summary: { headline: 'No TCP retransmits during the capture' } });
    expect(inv.reason).toBeUndefined();
  });

  it('ends a record whose job BullMQ failed as stalled (its orchestrator died twice holding it) in the failed handler', async () => {
    // A queue prefix of its own: BullMQ checks a queue for stalled jobs at most once per stalledInterval, and the
    // orchestrators of the other tests checked this file's queue with the default (30 s).
    const own = await orchestratorHarness('stalled');
    try {
      const id = newInvestigationId();
      await own.records.create({
        id, status: 'running', playbook: 'tcp-retrans', target: { node: NODE }, params: { duration: 1000 }, createdAt: ago(1000), startedAt: ago(1000),
        deadline: new Date(Date.now() + 600_000).toISOString(), requestedBy: 'token:test', steps: [], artifacts: [],
      });
      await own.investigations.add('investigate', { id }, { jobId: id });
      // Two orchestrators that took the job and died: nothing renews its lock, the stalled checker takes it back.
      const connection = createRedis(testRedisUrl());
      const dying = new Worker(QUEUES.investigations.name, null, { connection, prefix: own.prefix, autorun: false, lockDuration: 300, stalledInterval: 100, maxStalledCount: 1 });
      await dying.startStalledCheckTimer();
      for (const token of ['first', 'second']) {
        expect((await dying.getNextJob(token))?.id).toBe(id);
        await expect.poll(async () => (await own.investigations.getJob(id))?.getState(), { timeout: 5000 }).toBe('waiting');
      }
      expect((await own.investigations.getJob(id))?.deferredFailure).toBe('job stalled more than allowable limit');
      await dying.close();
      await connection.quit();

      // A third orchestrator (its reaper far off) takes the job; BullMQ fails it at once, without running it.
      await own.start({ store: s3.store, reaperIntervalMs: 600_000 });
      const inv = await own.waitFor(id, ended);
      expect(inv).toMatchObject({ status: 'failed', reason: 'the orchestrator lost this investigation: it stopped twice while working on it' });
      expect(await own.investigations.getJob(id).then((j) => j?.getState())).toBe('failed');
      expect(own.finals.filter((x) => x === id)).toHaveLength(1);
      expect(await own.records.isCancelRequested(id)).toBe(true);
    } finally {
      await own.close();
    }
  });

  it('ends a record once when several orchestrators reap at the same time', async () => {
    const ids = await Promise.all([1, 2, 3].map(() => orphan({ deadline: ago(1000) })));
    await Promise.all([start(20), start(20), start(20)]);
    for (const id of ids) expect(await h.waitFor(id, ended)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^the orchestrator lost this investigation/) });
    await sleep(300);
    for (const id of ids) expect(h.finals.filter((x) => x === id)).toHaveLength(1);
  });
});
