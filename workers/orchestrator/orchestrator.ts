import { WaitingChildrenError, type Queue } from 'bullmq';
import type { Logger } from 'pino';
import { NotFoundError } from '../../src/core/errors.ts';
import { isTerminal } from '../../src/core/investigation.ts';
import type { Playbook } from '../../src/playbooks/playbook.ts';
import { parsePlaybookParams } from '../../src/playbooks/select.ts';
import { NodeRegistry } from '../../src/inventory/node-registry.ts';
import { createRedis, type RedisTarget } from '../../src/redis/connection.ts';
import { InvestigationRecords } from '../../src/records/investigation-records.ts';
import { InvestigateJob, type InvestigationProgress } from '../../src/queue/jobs.ts';
import { openFlowProducer, openQueue, startWorker } from '../../src/queue/open.ts';
import { QUEUES, captureQueue as captureQueueSpec, type JobOf } from '../../src/queue/queues.ts';
import type { ArtifactStore } from '../../src/storage/artifact-store.ts';
import type { Inventory } from '../../src/inventory/inventory.ts';
import { chainNext } from './chain.ts';
import { collectStep } from './collect.ts';
import { investigationBudgetMs } from './deadline.ts';
import { dispatchStep } from './dispatch.ts';
import { outcomeOfSteps } from './ending.ts';
import { finish } from './finish.ts';
import { startLateArtifactsWorker } from './late-artifacts.ts';
import { stepsDispatchedWith } from './waves.ts';
import { Reaper, lostReason } from './reaper.ts';
import { ReportRequests, startReportWorker } from './reports.ts';
import { RecordEnded, advance, now, tell, type OrchestratorHooks, type RunContext } from './run-context.ts';
import { CaptureWatchdog } from './watchdog.ts';

export interface Orchestrator {
  close(): Promise<void>;
}

const ORCHESTRATOR_LOCK_MS = 10_000;
const ORCHESTRATOR_STALL_CHECK_MS = 5_000;

export async function startOrchestrator(opts: {
  playbooks: readonly Playbook[];
  inventory: Inventory | null;
  redis: RedisTarget;
  prefix: string;
  store: ArtifactStore;
  log: Logger;
  concurrency?: number;
  /** How often to look for captures whose node died; the registry TTL bounds how fast death is seen. */
  watchdogIntervalMs?: number;
  /** How often to look for investigations whose job is gone or failed, or whose deadline passed. */
  reaperIntervalMs?: number;
  hooks?: OrchestratorHooks;
}): Promise<Orchestrator> {
  const log = opts.log.child({ part: 'orchestrator' });
  const redis = createRedis(opts.redis);
  const records = new InvestigationRecords(redis, opts.prefix);
  const registry = new NodeRegistry(redis, opts.prefix);
  const captureQueues = new Map<string, Queue>();
  const captureQueue = (node: string) => {
    let q = captureQueues.get(node);
    if (!q) {
      q = openQueue(captureQueueSpec(node), { connection: redis, prefix: opts.prefix });
      captureQueues.set(node, q);
    }
    return q;
  };

  const watchdog = new CaptureWatchdog(redis, opts.prefix, registry, captureQueue, log);
  watchdog.start(opts.watchdogIntervalMs ?? 1000);
  const investigations = openQueue(QUEUES.investigations, { connection: redis, prefix: opts.prefix });
  const reportsQueue = openQueue(QUEUES.reports, { connection: redis, prefix: opts.prefix });
  const reports = new ReportRequests(reportsQueue, redis, opts.prefix);
  const flows = openFlowProducer({ connection: redis, prefix: opts.prefix });
  const ctx: RunContext = { playbooks: opts.playbooks, inventory: opts.inventory, records, registry, flows, captureQueue, watchdog, store: opts.store, reports, log, hooks: opts.hooks ?? {} };
  // Endings started by the failed handler, awaited on close.
  const endings = new Set<Promise<unknown>>();
  const endLater = (id: string, reason: string) => {
    const p = endLost(ctx, id, reason)
      .catch((err: unknown) => log.error({ err, investigation: id }, 'could not end a lost investigation'))
      .finally(() => endings.delete(p));
    endings.add(p);
  };
  const reaper = new Reaper({ redis, prefix: opts.prefix, records, investigations, end: (id, reason) => endLost(ctx, id, reason), log });
  reaper.start(opts.reaperIntervalMs ?? 5000);
  const lateArtifacts = startLateArtifactsWorker({ redis: opts.redis, prefix: opts.prefix, records, reports, log });
  const reportWorker = startReportWorker({ redis: opts.redis, prefix: opts.prefix, store: opts.store, records, requests: reports, log });
  const workerConnection = createRedis(opts.redis);
  const processJob = async (data: InvestigateJob, job: JobOf<typeof QUEUES.investigations>, token?: string) => {
    try {
      await runInvestigation(job, data, token ?? '', ctx);
    } catch (err) {
      if (err instanceof RecordEnded) return;
      if (err instanceof WaitingChildrenError) throw err;
      // Record the failure where users look (the investigation), not only in BullMQ's failed set.
      await endLost(ctx, data.id, `orchestrator error: ${(err as Error).message}`).catch(() => false);
      throw err;
    }
  };
  const worker = startWorker(QUEUES.investigations, processJob, {
    connection: workerConnection,
    prefix: opts.prefix,
    // Parked investigations do not hold a slot, so this bounds only those busy dispatching or summarizing.
    concurrency: opts.concurrency ?? 16,
    // A job whose orchestrator died is taken up again once its lock lapses and a stall check sees it: BullMQ's
    // 30 s + 30 s would cost up to a minute per crash, and two crashes (which fail the job) could outlast the
    // investigation's deadline. The work under a lock is short (dispatch, collect, summarize), so 10 s holds it.
    lockDuration: ORCHESTRATOR_LOCK_MS,
    stalledInterval: ORCHESTRATOR_STALL_CHECK_MS,
  });
  worker.on('error', (err) => log.error({ err }, 'orchestrator worker error'));
  worker.on('failed', (job, err) => {
    log.error({ err, investigation: job?.data }, 'investigation job failed');
    // BullMQ fails a job whose orchestrator died holding it twice ("stalled") without running it: its record
    // would stay running. The run's own errors were recorded already; ending is a compare-and-set, so once.
    const parsed = InvestigateJob.safeParse(job?.data);
    if (parsed.success) endLater(parsed.data.id, lostReason(err.message));
  });

  return {
    async close() {
      await reaper.stop();
      watchdog.stop();
      await worker.close();
      await Promise.all([lateArtifacts.close(), reportWorker.close(), ...endings]);
      await Promise.all([...captureQueues.values(), investigations, reportsQueue, flows].map((q) => q.close()));
      await workerConnection.quit();
      await redis.quit();
    },
  };
}

/**
 * Ends an investigation its run will not end — its job failed or is gone, or its deadline passed — and stops its
 * captures as a cancel does. False when it had ended already.
 */
async function endLost(ctx: RunContext, id: string, reason: string): Promise<boolean> {
  const inv = await ctx.records.find(id);
  if (!inv || isTerminal(inv.status)) return false;
  // No summary from the playbook: the steps did not all run, and "nothing found" would mislead. The headline says why.
  if (!(await finish(ctx, { ...inv, status: 'failed', reason }, null))) return false;
  // Running captures stop at once; queued ones find the record ended and do not start.
  await ctx.records.requestCancel(id);
  await ctx.watchdog.forget(id);
  return true;
}

/**
 * One run of an investigation's job: starts it, then per step dispatches (dispatch.ts), parks until BullMQ wakes the
 * job when the step's captures have ended, collects (collect.ts), and once the steps are done or a cancel came,
 * finishes (finish.ts: summary, report, final record). A restarted orchestrator resumes from the job's progress.
 */
async function runInvestigation(job: JobOf<typeof QUEUES.investigations>, data: InvestigateJob, token: string, ctx: RunContext): Promise<void> {
  const { id } = data;
  const progress: InvestigationProgress = { stepIndex: 0, ...data.progress };
  let record = await ctx.records.findVersion(id);
  if (!record) throw new NotFoundError(`no investigation ${id}`);
  if (isTerminal(record.inv.status)) return;

  const playbookName = record.inv.playbook;
  const playbook = ctx.playbooks.find((p) => p.name === playbookName);
  if (!playbook) {
    await finish(ctx, { ...record.inv, status: 'failed', reason: `unknown playbook ${record.inv.playbook}` }, null, record);
    return;
  }
  const params = parsePlaybookParams(playbook, record.inv.params);

  // The deadline is fixed as it starts (records from before deadlines get one when resumed).
  if (record.inv.status === 'queued' || !record.inv.deadline) {
    const starting = record.inv.status === 'queued';
    const startedAt = record.inv.startedAt ?? now();
    const deadline = new Date(Date.parse(startedAt) + investigationBudgetMs(playbook, params, record.inv.target ?? {})).toISOString();
    record = await advance(ctx, record, (cur) => ({ ...cur, status: 'running', startedAt, deadline }));
    if (starting) {
      ctx.log.info({ investigation: id, playbook: playbook.name, deadline }, 'investigation started');
      await tell(ctx, id, 'progress');
    }
  }

  for (;;) {
    if (progress.dispatched) {
      const group = progress.group ?? 1;
      for (const step of playbook.steps.slice(progress.stepIndex, progress.stepIndex + group)) {
        record = await collectStep(ctx, job, record, step, params, progress.dispatched);
      }
      progress.stepIndex += group;
      delete progress.dispatched;
      delete progress.group;
      await job.updateData({ id, progress });
      await tell(ctx, id, 'progress');
    }
    if (await ctx.records.isCancelRequested(id)) {
      await finish(ctx, { ...record.inv, status: 'cancelled', reason: 'cancelled on request' }, { playbook, params }, record);
      return;
    }
    const step = playbook.steps[progress.stepIndex];
    if (!step) break;

    // A parallel playbook's steps, or a step and the `parallel` ones after it, depend on no other's result among them
    // (compile.ts checks): all are dispatched now and collected at the one wake-up (waves.ts). A crash in between
    // dispatches them again, as the same capture jobs.
    const group = stepsDispatchedWith(playbook, progress.stepIndex);
    const waitFor = new Set<string>();
    for (const s of group) {
      const dispatched = await dispatchStep(ctx, job, record, s, params);
      record = dispatched.version;
      for (const node of dispatched.waitFor) waitFor.add(node);
    }
    if (waitFor.size === 0) {
      progress.stepIndex += group.length;
      await job.updateData({ id, progress });
      continue;
    }
    progress.dispatched = [...waitFor];
    if (group.length > 1) progress.group = group.length;
    await job.updateData({ id, progress });
    // BullMQ wakes the job once, when its last capture ends or is given up on: one wake-up per step, not per node.
    if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
  }

  if (await finish(ctx, { ...record.inv, ...outcomeOfSteps(record.inv.steps) }, { playbook, params }, record)) await chainNext(ctx, id);
}
