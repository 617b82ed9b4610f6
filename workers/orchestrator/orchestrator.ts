import { Job, Queue, WaitingChildrenError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { bySeverity, isTerminal, type Investigation, type Step, type Summary } from '../../src/core/investigation.ts';
import { artifactNamesOf } from '../../src/core/findings/step-problems.ts';
import { compareSweep, comparisonFindings, type SweepComparison } from '../../src/sweeps/compare.ts';
import { Capabilities } from '../../src/core/capabilities.ts';
import { planContext } from '../../src/core/playbooks/engine.ts';
import type { Playbook } from '../../src/core/playbooks/playbook.ts';
import { parsePlaybookParams } from '../../src/core/playbooks/select.ts';
import { NodeRegistry } from '../../src/inventory/node-registry.ts';
import { investigationSeconds, investigationsFinished } from '../../src/metrics.ts';
import { createRedis } from '../../src/queue/connection.ts';
import { InvestigationRecords } from '../../src/queue/investigation-records.ts';
import { CaptureOutcome, INVESTIGATIONS_QUEUE, InvestigateJob, REPORTS_QUEUE, captureQueueName, type CaptureJob } from '../../src/queue/jobs.ts';
import { mergeArtifacts, withUnstored, withUrl, type RecordArtifact } from '../../src/core/record-artifacts.ts';
import type { ArtifactStore } from '../../src/storage/artifact-store.ts';
import type { Inventory } from '../../src/inventory/inventory.ts';
import { failpoint } from '../../src/faults/failpoints.ts';
import { captureScopeOf } from './capture-scope.ts';
import { CAPTURE_SLACK_MS, investigationBudgetMs } from './deadline.ts';
import { startLateArtifactsWorker } from './late-artifacts.ts';
import { Reaper, lostReason } from './reaper.ts';
import { REPORT_STORE_WAIT_MS, ReportRequests, reportNote, startReportWorker, storeFailure, storeReports } from './reports.ts';
import { resolvePlacements } from './resolve-nodes.ts';
import { CaptureWatchdog } from './watchdog.ts';

/** Progress kept in the BullMQ job itself, so a restarted orchestrator resumes where the last one parked. */
interface Progress {
  stepIndex: number;
  /** Nodes the current step was dispatched to; set once its capture jobs exist. */
  dispatched?: string[];
}

export interface Orchestrator {
  close(): Promise<void>;
}

/** What the orchestrator tells the rest of the system; failures here never fail an investigation. */
export interface OrchestratorHooks {
  /** Status or steps changed ('progress'), or the investigation ended ('final'): notifications. */
  changed?(id: string, event: 'progress' | 'final'): Promise<void>;
  /** Whether someone will be sent pictures of this investigation (chat): then agents store PNG thumbnails too. */
  wantsThumbnails?(id: string): Promise<boolean>;
  /** Earlier finished runs of the same schedule, newest first: what a sweep is compared with. */
  previousRuns?(inv: Investigation): Promise<Investigation[]>;
}

const now = () => new Date().toISOString();
const captureJobId = (invId: string, stepId: string, node: string) => `${invId}.${stepId}.${node}`;

const ORCHESTRATOR_LOCK_MS = 10_000;
const ORCHESTRATOR_STALL_CHECK_MS = 5_000;

/** The record ended while its run was at work (reaped, or ended by the failed-job handler): the run stops there. */
class RecordEnded extends Error {}

export async function startOrchestrator(opts: {
  playbooks: readonly Playbook[];
  inventory: Inventory | null;
  redisUrl: string;
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
  const redis = createRedis(opts.redisUrl);
  const records = new InvestigationRecords(redis, opts.prefix);
  const registry = new NodeRegistry(redis, opts.prefix);
  const captureQueues = new Map<string, Queue>();
  const captureQueue = (node: string) => {
    let q = captureQueues.get(node);
    if (!q) {
      q = new Queue(captureQueueName(node), { connection: redis, prefix: opts.prefix });
      captureQueues.set(node, q);
    }
    return q;
  };

  const watchdog = new CaptureWatchdog(redis, opts.prefix, registry, captureQueue, log);
  watchdog.start(opts.watchdogIntervalMs ?? 1000);
  const investigations = new Queue(INVESTIGATIONS_QUEUE, { connection: redis, prefix: opts.prefix });
  const reportsQueue = new Queue(REPORTS_QUEUE, { connection: redis, prefix: opts.prefix });
  const reports = new ReportRequests(reportsQueue, redis, opts.prefix);
  const ctx: RunContext = { playbooks: opts.playbooks, inventory: opts.inventory, records, registry, captureQueue, watchdog, store: opts.store, reports, log, hooks: opts.hooks ?? {} };
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
  const lateArtifacts = startLateArtifactsWorker({ redisUrl: opts.redisUrl, prefix: opts.prefix, records, reports, log });
  const reportWorker = startReportWorker({ redisUrl: opts.redisUrl, prefix: opts.prefix, store: opts.store, records, requests: reports, log });
  const workerConnection = createRedis(opts.redisUrl);
  const processJob = async (job: Job, token?: string) => {
    try {
      await runInvestigation(job, token ?? '', ctx);
    } catch (err) {
      if (err instanceof RecordEnded) return;
      if (err instanceof WaitingChildrenError) throw err;
      // Record the failure where users look (the investigation), not only in BullMQ's failed set.
      const parsed = InvestigateJob.safeParse(job.data);
      if (parsed.success) await endLost(ctx, parsed.data.id, `orchestrator error: ${(err as Error).message}`).catch(() => false);
      throw err;
    }
  };
  const worker = new Worker(INVESTIGATIONS_QUEUE, processJob, {
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
      await Promise.all([...captureQueues.values(), investigations, reportsQueue].map((q) => q.close()));
      await workerConnection.quit();
      await redis.quit();
    },
  };
}

interface RunContext {
  playbooks: readonly Playbook[];
  inventory: Inventory | null;
  records: InvestigationRecords;
  registry: NodeRegistry;
  captureQueue(node: string): Queue;
  watchdog: CaptureWatchdog;
  store: ArtifactStore;
  /** Report files to store later. */
  reports: ReportRequests;
  log: Logger;
  hooks: OrchestratorHooks;
}

async function tell(ctx: RunContext, id: string, event: 'progress' | 'final'): Promise<void> {
  try {
    await ctx.hooks.changed?.(id, event);
  } catch (err) {
    ctx.log.warn({ err, investigation: id }, 'could not queue a notification');
  }
}

/** Writes a change to a record still in progress; throws RecordEnded when it ended meanwhile (the run stops). */
async function advance(ctx: RunContext, id: string, change: (current: Investigation) => Investigation): Promise<Investigation> {
  const next = await ctx.records.update(id, (cur) => (isTerminal(cur.status) ? null : change(cur)));
  if (!next) throw new RecordEnded(`investigation ${id} ended meanwhile`);
  return next;
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

async function runInvestigation(job: Job, token: string, ctx: RunContext): Promise<void> {
  const { id } = InvestigateJob.parse(job.data);
  const progress: Progress = { stepIndex: 0, ...(job.data as { progress?: Progress }).progress };
  let inv = await ctx.records.get(id);
  if (isTerminal(inv.status)) return;

  const playbook = ctx.playbooks.find((p) => p.name === inv.playbook);
  if (!playbook) {
    await finish(ctx, { ...inv, status: 'failed', reason: `unknown playbook ${inv.playbook}` }, null);
    return;
  }
  const params = parsePlaybookParams(playbook, inv.params);

  // The deadline is fixed as it starts (records from before deadlines get one when resumed).
  if (inv.status === 'queued' || !inv.deadline) {
    const starting = inv.status === 'queued';
    const startedAt = inv.startedAt ?? now();
    const deadline = new Date(Date.parse(startedAt) + investigationBudgetMs(playbook, params, inv.target ?? {})).toISOString();
    inv = await advance(ctx, id, (cur) => ({ ...cur, status: 'running', startedAt, deadline }));
    if (starting) {
      ctx.log.info({ investigation: id, playbook: playbook.name, deadline }, 'investigation started');
      await tell(ctx, id, 'progress');
    }
  }

  for (;;) {
    if (progress.dispatched) {
      inv = await collectStep(job, inv, playbook, progress, ctx);
      progress.stepIndex += 1;
      delete progress.dispatched;
      await job.updateData({ id, progress });
      await tell(ctx, id, 'progress');
    }
    if (await ctx.records.isCancelRequested(id)) {
      await finish(ctx, { ...inv, status: 'cancelled', reason: 'cancelled on request' }, { playbook, params });
      return;
    }
    const step = playbook.steps[progress.stepIndex];
    if (!step) break;

    // Entries of this step replace any recorded before a crash (a resumed run plans the step again): one per node.
    const record = async (entries: Step[]) => {
      const again = (s: Step) => s.id === step.id && entries.some((e) => e.node === s.node);
      inv = await advance(ctx, id, (cur) => ({ ...cur, steps: [...cur.steps.filter((s) => !again(s)), ...entries] }));
    };
    const target = inv.target ?? {};
    const pctx = planContext(params, target, inv.steps);
    const notNow = step.condition(pctx);
    const resolution = notNow ? null : await resolvePlacements(inv.target, ctx.registry, ctx.inventory);
    if (notNow || !resolution || 'error' in resolution) {
      const status = notNow ? 'skipped' : 'failed';
      const reason = notNow?.reason ?? (resolution && 'error' in resolution ? resolution.error : 'no placement');
      const skip = notNow ? { skip: notNow.skip } : {};
      await record([{ id: step.id, title: step.title, tool: step.tool, node: null, status, reason, ...skip, artifacts: [], finishedAt: now() }]);
      progress.stepIndex += 1;
      await job.updateData({ id, progress });
      continue;
    }

    const startedAt = now();
    const entries: Step[] = resolution.dead.map((node) => ({
      id: step.id, title: step.title, tool: step.tool, node, status: 'failed' as const, reason: `node ${node} has no live agent`, artifacts: [], finishedAt: now(),
    }));
    const dispatched: { node: string; durationMs: number }[] = [];
    const thumbnails = (await ctx.hooks.wantsThumbnails?.(id).catch(() => false)) ?? false;
    for (const { node, pods } of resolution.placements) {
      const caps = Capabilities.safeParse((await ctx.registry.get(node))?.capabilities);
      const decision = step.plan(pctx, caps.success ? caps.data : null);
      if (decision.action === 'skip') {
        entries.push({ id: step.id, title: step.title, tool: step.tool, node, status: 'skipped', skip: 'unsupported', reason: decision.reason, artifacts: [], finishedAt: now() });
        continue;
      }
      const data: CaptureJob = {
        investigationId: id,
        stepId: step.id,
        node,
        tool: decision.tool,
        params: decision.params,
        durationMs: decision.durationMs,
        thumbnails,
        scope: captureScopeOf(target, node, pods),
      };
      // A fixed job id makes re-dispatch after an orchestrator crash a no-op instead of a second capture.
      await ctx.captureQueue(node).add(decision.tool, data, {
        jobId: captureJobId(id, step.id, node),
        parent: { id: job.id!, queue: job.queueQualifiedName },
        ignoreDependencyOnFailure: true,
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
      dispatched.push({ node, durationMs: decision.durationMs });
      entries.push({
        id: step.id,
        title: decision.title,
        tool: decision.tool,
        node,
        status: 'running',
        startedAt,
        artifacts: [],
        ...(decision.fallbackReason ? { reason: `fallback to ${decision.tool}: ${decision.fallbackReason}` } : {}),
      });
    }
    await ctx.watchdog.watch(
      id,
      dispatched.map((d) => ({ jobId: captureJobId(id, step.id, d.node), node: d.node, deadline: Date.now() + d.durationMs + CAPTURE_SLACK_MS })),
    );
    await record(entries);
    failpoint('orchestrator.after-dispatch'); // test/faults: crash with capture jobs queued and recorded, progress not yet saved
    if (dispatched.length === 0) {
      progress.stepIndex += 1;
      await job.updateData({ id, progress });
      continue;
    }
    progress.dispatched = dispatched.map((d) => d.node);
    await job.updateData({ id, progress });
    if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
  }

  const anySucceeded = inv.steps.some((s) => s.status === 'succeeded');
  const reason = anySucceeded ? undefined : inv.steps.map((s) => s.reason).filter(Boolean).join('; ') || 'no step succeeded';
  await finish(ctx, { ...inv, status: anySucceeded ? 'succeeded' : 'failed', ...(reason ? { reason } : {}) }, { playbook, params });
}

/** Reads the finished capture jobs of the parked step and records one step entry per node. */
async function collectStep(job: Job, inv: Investigation, playbook: Playbook, progress: Progress, ctx: RunContext): Promise<Investigation> {
  const step = playbook.steps[progress.stepIndex]!;
  const values = await job.getChildrenValues();
  const failures = await job.getIgnoredChildrenFailures();
  const outcomes = new Map<string, CaptureOutcome>();
  for (const v of Object.values(values)) {
    const o = CaptureOutcome.safeParse(v);
    if (o.success && o.data.stepId === step.id) outcomes.set(o.data.node, o.data);
  }
  const failureOf = (node: string) => {
    const suffix = `:${captureJobId(inv.id, step.id, node)}`;
    return Object.entries(failures).find(([k]) => k.endsWith(suffix))?.[1];
  };
  const lost = new Map<string, string>();
  for (const node of progress.dispatched ?? []) {
    const reason = await ctx.watchdog.lostReason(captureJobId(inv.id, step.id, node));
    if (reason) lost.set(node, reason);
  }
  await ctx.watchdog.forget(inv.id);
  const at = Date.now();
  // Applied to the record as it is now: late artifacts of a node may have been merged while others still captured.
  return advance(ctx, inv.id, (cur) => {
    const arrived = new Set(cur.artifacts.map((a) => a.name));
    const steps = cur.steps.map((s): Step => {
      if (s.id !== step.id || s.status !== 'running' || !s.node) return s;
      const o = outcomes.get(s.node);
      if (!o) {
        const reason = lost.get(s.node) ?? `capture job failed: ${failureOf(s.node) ?? 'no result returned'}`;
        return { ...s, status: 'failed', finishedAt: now(), reason };
      }
      const entry: Step = {
        ...s,
        status: o.status,
        // An agent skips a capture only when its node lacks what the tool needs.
        ...(o.status === 'skipped' ? { skip: 'unsupported' as const } : {}),
        startedAt: o.startedAt,
        finishedAt: o.finishedAt,
        ...(o.reason ? { reason: s.reason ? `${s.reason}; ${o.reason}` : o.reason } : {}),
        ...(o.result !== undefined ? { result: o.result } : {}),
        artifacts: [...new Set([...s.artifacts, ...o.artifacts.map((a) => a.name)])],
      };
      // A result whose outputs could not be stored keeps its status; its reason says what is missing, and for how long.
      return withUnstored(entry, o.unstored.filter((u) => !arrived.has(u.name)), at);
    });
    const artifacts = mergeArtifacts(cur.artifacts, [...outcomes.values()].flatMap((o) => o.artifacts.map((a) => withUrl(cur.id, a))));
    return { ...cur, steps, artifacts };
  });
}

/**
 * Summarizes, stores the report files and records the final state; false when the record had ended meanwhile
 * (reaped, or ended by another orchestrator), which is then left as it is.
 */
async function finish(
  ctx: RunContext,
  inv: Investigation,
  run: { playbook: Playbook; params: Record<string, unknown> } | null,
): Promise<boolean> {
  failpoint('orchestrator.before-finish');
  const finishedAt = now();
  // A step still open when the investigation ends captured nothing that will be kept: its reason says why.
  const stopped = `not finished: ${inv.status === 'cancelled' ? 'the investigation was cancelled' : (inv.reason ?? 'the investigation ended')}`;
  const closeOpen = (steps: Step[]) =>
    steps.map((s): Step => (s.status === 'running' || s.status === 'pending' ? { ...s, status: 'cancelled', finishedAt, reason: s.reason ? `${s.reason}; ${stopped}` : stopped } : s));
  const done: Investigation = { ...inv, finishedAt, steps: closeOpen(inv.steps) };
  if (run) done.summary = run.playbook.summarize({ investigation: done, params: run.params, steps: done.steps });
  if (!done.summary && done.reason) done.summary = { headline: `Investigation ${done.status}: ${done.reason}`, findings: [], notes: [] };
  const comparison = done.schedule && done.status === 'succeeded' ? await compareWithPreviousRuns(ctx, done) : null;
  if (comparison && done.summary) done.summary = withComparison(done.summary, comparison, done.steps);

  // The report is stored before the record ends when storage answers in time, so an ended record lists it. When
  // storage fails or hangs, the result is recorded anyway (Redis has it), saying so, and a retry stores the report.
  let stored: RecordArtifact[] | null = null;
  let failure: unknown = null;
  try {
    stored = await storeReports(ctx.store, done, comparison ?? undefined, REPORT_STORE_WAIT_MS);
  } catch (err) {
    failure = err;
    ctx.log.warn({ err, investigation: done.id }, 'could not store the report; recording the result and retrying');
  }
  const ended = await ctx.records.update(done.id, (cur) =>
    isTerminal(cur.status)
      ? null
      : {
          ...cur,
          status: done.status,
          ...(done.reason ? { reason: done.reason } : {}),
          finishedAt,
          steps: closeOpen(cur.steps),
          ...(done.summary ? { summary: done.summary } : {}),
          artifacts: stored ? mergeArtifacts(cur.artifacts, stored) : cur.artifacts,
          ...(stored ? {} : { note: reportNote(finishedAt, storeFailure(failure)) }),
        },
  );
  if (!ended) {
    ctx.log.info({ investigation: done.id }, 'investigation had already ended; left as it was');
    return false;
  }
  if (!stored) {
    await ctx.reports.request({ investigationId: done.id, since: finishedAt, ...(comparison ? { comparison } : {}) }).catch((err: unknown) =>
      ctx.log.error({ err, investigation: done.id }, 'could not queue storing the report'),
    );
  }
  ctx.log.info({ investigation: done.id, status: done.status, headline: done.summary?.headline }, 'investigation finished');
  investigationsFinished.inc({ playbook: done.playbook, status: done.status });
  investigationSeconds.observe({ playbook: done.playbook }, (Date.parse(finishedAt) - Date.parse(done.createdAt)) / 1000);
  await tell(ctx, done.id, 'final');
  return true;
}

/** Scheduled runs (sweeps) are compared per node with the schedule's earlier runs; null when there is nothing to compare. */
async function compareWithPreviousRuns(ctx: RunContext, inv: Investigation): Promise<SweepComparison | null> {
  if (!ctx.hooks.previousRuns) return null;
  try {
    const previous = await ctx.hooks.previousRuns(inv);
    return compareSweep(inv, previous);
  } catch (err) {
    ctx.log.warn({ err, investigation: inv.id }, 'could not compare with previous runs');
    return null;
  }
}

/**
 * Changes since earlier runs lead the findings; the headline says how many need a look. Their evidence is kept to
 * what this run stored (a node that failed every step has no result to point at).
 */
function withComparison(summary: Summary, comparison: SweepComparison, steps: readonly Step[]): Summary {
  const stored = new Set(steps.flatMap(artifactNamesOf));
  const changes = comparisonFindings(comparison).map((f) => ({ ...f, evidence: f.evidence.filter((e) => stored.has(e)) }));
  const notable = changes.filter((f) => f.severity !== 'info').length;
  return {
    headline: notable > 0 ? `${summary.headline} — ${notable} change(s) since previous sweeps` : summary.headline,
    // Within a severity, changes first (the sort is stable).
    findings: [...changes.filter((f) => f.severity !== 'info'), ...summary.findings, ...changes.filter((f) => f.severity === 'info')].sort(bySeverity),
    notes: summary.notes,
  };
}

