import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { newInvestigationId } from '../../src/core/ids.ts';
import { OnceKeys } from '../../src/intake/once-keys.ts';
import { RequesterRateLimiter } from '../../src/intake/rate-limit.ts';
import { NodeRegistry } from '../../src/inventory/node-registry.ts';
import { createLogger } from '../../src/log.ts';
import { NotifyTargets } from '../../src/notify/targets.ts';
import type { CaptureJob, InvestigateJob } from '../../src/queue/jobs.ts';
import { openQueue, startWorker } from '../../src/queue/open.ts';
import { QUEUES, captureQueue, type JobHandler, type QueueSpec } from '../../src/queue/queues.ts';
import { InvestigationRecords } from '../../src/records/investigation-records.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { RedisKeys } from '../../src/redis/keys.ts';
import { ScheduleStore } from '../../src/schedules/schedule-store.ts';
import { ReportRequests } from '../../workers/orchestrator/reports.ts';
import { CaptureWatchdog } from '../../workers/orchestrator/watchdog.ts';
import { testRedisUrl, uniquePrefix } from '../helpers/services.ts';

/** Waits for job `id` to complete or fail; returns the job as BullMQ then holds it. */
async function settled(queue: Queue, id: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const state = await queue.getJobState(id);
    // Read after the state, so the job read holds what finishing it wrote (its return value or failure).
    const job = state === 'completed' || state === 'failed' ? await queue.getJob(id) : undefined;
    if (job) return { job, state };
    if (Date.now() > deadline) throw new Error(`job ${id} still ${state}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('queues opened through src/queue/queues.ts, on real Redis', () => {
  const prefix = uniquePrefix('queues');
  const at = () => ({ connection: redis, prefix });
  let redis: Redis;
  const open: { close(): Promise<unknown> }[] = [];
  const workerOn = <Data extends z.ZodType, Result extends z.ZodType>(spec: QueueSpec<Data, Result>, handle: NoInfer<JobHandler<QueueSpec<Data, Result>>>) => {
    const connection = createRedis(testRedisUrl());
    const worker = startWorker(spec, handle, { connection, prefix });
    open.push(worker, { close: () => connection.quit() });
    return worker;
  };

  beforeAll(() => {
    redis = createRedis(testRedisUrl());
  });
  afterAll(async () => {
    for (const o of open.reverse()) await o.close();
    await redis.quit();
  });

  it("hands a worker the job's data parsed by its queue's schema (defaults applied) and stores what it returns", async () => {
    const spec = captureQueue('node-typed');
    const queue = openQueue(spec, at());
    open.push(queue);
    const seen: CaptureJob[] = [];
    workerOn(spec, async (data) => {
      seen.push(data);
      return { stepId: data.stepId, node: data.node, status: 'succeeded', startedAt: 't0', finishedAt: 't1', artifacts: [] };
    });
    const investigationId = newInvestigationId();
    // As an agent of an older version would send it: no `thumbnails`.
    const job = await queue.add('syscount', { investigationId, stepId: 'errors', node: 'node-typed', tool: 'syscount', params: {}, durationMs: 0, scope: {} });
    const done = await settled(queue, job.id!);
    expect(done.state).toBe('completed');
    expect(seen).toEqual([expect.objectContaining({ investigationId, thumbnails: false })]);
    expect(done.job.returnvalue).toEqual({ stepId: 'errors', node: 'node-typed', status: 'succeeded', startedAt: 't0', finishedAt: 't1', artifacts: [] });
  });

  it('fails a job whose data its queue does not take, without running the worker on it', async () => {
    const queue = openQueue(QUEUES.investigations, at());
    open.push(queue);
    let ran = 0;
    workerOn(QUEUES.investigations, async () => {
      ran += 1;
    });
    const job = await queue.add('investigate', { id: 'not-an-investigation-id' }, { jobId: 'bad-data' });
    const done = await settled(queue, job.id!);
    expect(done.state).toBe('failed');
    expect(done.job.failedReason).toMatch(/id/);
    expect(ran).toBe(0);
  });

  it("keeps an investigation's progress in its job data, typed (a restarted orchestrator resumes from it)", async () => {
    const spec = { ...QUEUES.investigations, name: `${QUEUES.investigations.name}-progress` };
    const queue = openQueue(spec, at());
    open.push(queue);
    const seen: InvestigateJob[] = [];
    workerOn(spec, async (data) => {
      seen.push(data);
    });
    const id = newInvestigationId();
    const job = await queue.add('investigate', { id }, { jobId: id, delay: 60_000 });
    await job.updateData({ id, progress: { stepIndex: 2, dispatched: ['node-a', 'node-b'] } });
    await job.promote();
    expect((await settled(queue, id)).state).toBe('completed');
    expect(seen).toEqual([{ id, progress: { stepIndex: 2, dispatched: ['node-a', 'node-b'] } }]);
  });
});

describe('every store keeps its data under the key RedisKeys names', () => {
  const prefix = uniquePrefix('keys');
  const keys = new RedisKeys(prefix);
  let redis: Redis;
  let schedulesQueue: Queue;
  let reportsQueue: Queue;

  beforeAll(() => {
    redis = createRedis(testRedisUrl());
    schedulesQueue = openQueue(QUEUES.schedules, { connection: redis, prefix });
    reportsQueue = openQueue(QUEUES.reports, { connection: redis, prefix });
  });
  afterAll(async () => {
    await schedulesQueue.close();
    await reportsQueue.close();
    await redis.quit();
  });

  it('records, nodes, once-claims, audit, notify targets, schedules, rate limits, the watchdog and pending reports', async () => {
    const id = newInvestigationId();
    await new InvestigationRecords(redis, prefix).create({ id, status: 'queued', playbook: 'enospc', params: {}, createdAt: new Date().toISOString(), requestedBy: 'token:test', steps: [], artifacts: [] });
    expect(JSON.parse((await redis.get(keys.investigation(id)))!)).toMatchObject({ id, status: 'queued' });
    expect(await redis.zscore(keys.investigationIndex(), id)).toBe('0');
    expect(await redis.sismember(keys.activeInvestigations(), id)).toBe(1);

    await new InvestigationRecords(redis, prefix).requestCancel(id);
    expect(await redis.exists(keys.cancelRequest(id))).toBe(1);

    await new NodeRegistry(redis, prefix).heartbeat({ name: 'node-k', labels: {}, kernel: '6.1.0', agentVersion: 'test', capabilities: {} }, 60_000);
    expect(JSON.parse((await redis.get(keys.node('node-k')))!)).toMatchObject({ name: 'node-k' });

    expect(await new OnceKeys(redis, prefix).claim('alert', 'k1', 60)).toBe(true);
    expect(await redis.get(keys.once('alert', 'k1'))).toBe('pending');

    await new AuditLog(redis, prefix, createLogger('silent')).append({ actor: 'token:test', action: 'investigation.start', subject: id });
    expect(await redis.xlen(keys.audit())).toBe(1);

    const targets = new NotifyTargets(redis, prefix);
    await targets.add(id, { kind: 'slack-webhook', url: 'http://127.0.0.1:9/hook', when: 'always' });
    await targets.countPost(id, 0);
    expect(await redis.llen(keys.notifyTargets(id))).toBe(1);
    expect(await redis.hget(keys.notifyPosts(id), '0')).toBe('1');

    const schedules = new ScheduleStore(redis, prefix, schedulesQueue);
    const now = new Date().toISOString();
    await schedules.upsert({ name: 'nightly', playbook: 'enospc', every: 3_600_000, params: {}, createdBy: 'token:test', createdAt: now, updatedAt: now });
    await schedules.recordRun('nightly', id);
    expect(JSON.parse((await redis.hget(keys.schedules(), 'nightly'))!)).toMatchObject({ name: 'nightly' });
    expect(await redis.zrange(keys.scheduleRuns('nightly'), '0', '-1')).toEqual([id]);
    await schedules.remove('nightly');

    await new RequesterRateLimiter(redis, prefix, { points: 5, windowMs: 60_000 }).take('token:test');
    expect(await redis.get(`${keys.rateLimit()}:token:test`)).toBe('1');

    const watchdog = new CaptureWatchdog(redis, prefix, new NodeRegistry(redis, prefix), () => reportsQueue, createLogger('silent'));
    await watchdog.watch(id, [{ jobId: 'j1', node: 'node-k', deadline: Date.now() + 60_000 }]);
    expect(await redis.hexists(keys.watchedCaptures(id), 'j1')).toBe(1);
    expect(await redis.sismember(keys.watchedInvestigations(), id)).toBe(1);

    await new ReportRequests(reportsQueue, redis, prefix).request({ investigationId: id });
    expect(await redis.get(keys.reportsPending(id))).toBe('1');
  });
});
