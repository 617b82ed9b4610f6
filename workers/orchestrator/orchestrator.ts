import { Job, Queue, WaitingChildrenError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { isTerminal, type Investigation, type Step, type Summary } from '../../src/core/investigation.ts';
import { compareSweep, comparisonFindings, type SweepComparison } from '../../src/sweeps/compare.ts';
import { Capabilities } from '../../src/core/capabilities.ts';
import { planContext } from '../../src/core/playbooks/engine.ts';
import type { Playbook } from '../../src/core/playbooks/playbook.ts';
import { parsePlaybookParams } from '../../src/core/playbooks/select.ts';
import { renderReportHtml } from '../../src/core/report-html.ts';
import { renderReportMarkdown } from '../../src/core/report.ts';
import { NodeRegistry } from '../../src/inventory/node-registry.ts';
import { investigationSeconds, investigationsFinished } from '../../src/metrics.ts';
import { createRedis } from '../../src/queue/connection.ts';
import { InvestigationRecords } from '../../src/queue/investigation-records.ts';
import { CaptureOutcome, INVESTIGATIONS_QUEUE, InvestigateJob, captureQueueName, type CaptureJob } from '../../src/queue/jobs.ts';
import type { ArtifactStore } from '../../src/storage/artifact-store.ts';
import { artifactKey } from '../../src/storage/keys.ts';
import type { Inventory } from '../../src/inventory/inventory.ts';
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

/** Beyond its duration, how long a capture may take (bpftrace start-up, printing, upload) before it is overdue. */
const CAPTURE_SLACK_MS = 60_000;

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
  const ctx: RunContext = { playbooks: opts.playbooks, inventory: opts.inventory, records, registry, captureQueue, watchdog, store: opts.store, log, hooks: opts.hooks ?? {} };
  const workerConnection = createRedis(opts.redisUrl);
  const processJob = async (job: Job, token?: string) => {
    try {
      await runInvestigation(job, token ?? '', ctx);
    } catch (err) {
      if (err instanceof WaitingChildrenError) throw err;
      // Record the failure where users look (the investigation), not only in BullMQ's failed set.
      const id = (job.data as { id?: string }).id;
      const inv = id ? await ctx.records.find(id).catch(() => null) : null;
      if (inv && !isTerminal(inv.status)) {
        await ctx.records.put({ ...inv, status: 'failed', reason: `orchestrator error: ${(err as Error).message}`, finishedAt: now() });
        await tell(ctx, inv.id, 'final');
      }
      throw err;
    }
  };
  const worker = new Worker(INVESTIGATIONS_QUEUE, processJob, {
    connection: workerConnection,
    prefix: opts.prefix,
    // Parked investigations do not hold a slot, so this bounds only those busy dispatching or summarizing.
    concurrency: opts.concurrency ?? 16,
  });
  worker.on('error', (err) => log.error({ err }, 'orchestrator worker error'));
  worker.on('failed', (job, err) => log.error({ err, investigation: job?.data }, 'investigation job failed'));

  return {
    async close() {
      watchdog.stop();
      await worker.close();
      await Promise.all([...captureQueues.values()].map((q) => q.close()));
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

async function runInvestigation(job: Job, token: string, ctx: RunContext): Promise<void> {
  const { id } = InvestigateJob.parse(job.data);
  const progress: Progress = { stepIndex: 0, ...(job.data as { progress?: Progress }).progress };
  let inv = await ctx.records.get(id);
  if (isTerminal(inv.status)) return;

  const playbook = ctx.playbooks.find((p) => p.name === inv.playbook);
  if (!playbook) return finish(ctx, { ...inv, status: 'failed', reason: `unknown playbook ${inv.playbook}` }, null);
  const params = parsePlaybookParams(playbook, inv.params);

  if (inv.status === 'queued') {
    inv = { ...inv, status: 'running', startedAt: now() };
    await ctx.records.put(inv);
    ctx.log.info({ investigation: id, playbook: playbook.name }, 'investigation started');
    await tell(ctx, id, 'progress');
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
      return finish(ctx, { ...inv, status: 'cancelled', reason: 'cancelled on request' }, { playbook, params });
    }
    const step = playbook.steps[progress.stepIndex];
    if (!step) break;

    const record = async (entries: Step[]) => {
      inv = { ...inv, steps: [...inv.steps, ...entries] };
      await ctx.records.put(inv);
    };
    const target = inv.target ?? {};
    const pctx = planContext(params, target, inv.steps);
    const notNow = step.condition(pctx);
    const resolution = notNow ? null : await resolvePlacements(inv.target, ctx.registry, ctx.inventory);
    if (notNow || !resolution || 'error' in resolution) {
      const status = notNow ? 'skipped' : 'failed';
      const reason = notNow ?? (resolution && 'error' in resolution ? resolution.error : 'no placement');
      await record([{ id: step.id, title: step.title, tool: step.tool, node: null, status, reason, artifacts: [], finishedAt: now() }]);
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
        entries.push({ id: step.id, title: step.title, tool: step.tool, node, status: 'skipped', reason: decision.reason, artifacts: [], finishedAt: now() });
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
        scope: {
          ...(target.cgroup ? { cgroup: target.cgroup } : {}),
          ...(target.pid ? { pid: target.pid } : {}),
          ...(pods.length ? { pods } : {}),
        },
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
  return finish(ctx, { ...inv, status: anySucceeded ? 'succeeded' : 'failed', ...(reason ? { reason } : {}) }, { playbook, params });
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
  const steps = inv.steps.map((s): Step => {
    if (s.id !== step.id || s.status !== 'running' || !s.node) return s;
    const o = outcomes.get(s.node);
    if (!o) {
      const reason = lost.get(s.node) ?? `capture job failed: ${failureOf(s.node) ?? 'no result returned'}`;
      return { ...s, status: 'failed', finishedAt: now(), reason };
    }
    return {
      ...s,
      status: o.status,
      startedAt: o.startedAt,
      finishedAt: o.finishedAt,
      ...(o.reason ? { reason: s.reason ? `${s.reason}; ${o.reason}` : o.reason } : {}),
      ...(o.result !== undefined ? { result: o.result } : {}),
      artifacts: o.artifacts.map((a) => a.name),
    };
  });
  const artifacts = [
    ...inv.artifacts,
    ...[...outcomes.values()].flatMap((o) => o.artifacts.map((a) => ({ ...a, url: artifactUrl(inv.id, a.name) }))),
  ];
  const next = { ...inv, steps, artifacts };
  await ctx.records.put(next);
  return next;
}

export const artifactUrl = (id: string, name: string) => `/v1/investigations/${id}/artifacts/${name}`;

/** Summarizes, stores summary.json and report.md, and records the final state. */
async function finish(
  ctx: RunContext,
  inv: Investigation,
  run: { playbook: Playbook; params: Record<string, unknown> } | null,
): Promise<void> {
  const finishedAt = now();
  let done: Investigation = {
    ...inv,
    finishedAt,
    steps: inv.steps.map((s) => (s.status === 'running' || s.status === 'pending' ? { ...s, status: 'cancelled', finishedAt } : s)),
  };
  if (run) done.summary = run.playbook.summarize({ investigation: done, params: run.params, steps: done.steps });
  if (!done.summary && done.reason) done.summary = { headline: `Investigation ${done.status}: ${done.reason}`, findings: [] };
  const comparison = done.schedule && done.status === 'succeeded' ? await compareWithPreviousRuns(ctx, done) : null;
  if (comparison && done.summary) done.summary = withComparison(done.summary, comparison);

  const summaryDoc = { schemaVersion: 1, ...done };
  // The HTML report embeds every flamegraph the captures stored, so it stands alone when downloaded.
  const flamegraphs = new Map<string, string>();
  for (const a of done.artifacts.filter((x) => x.name.endsWith('/flamegraph.svg'))) {
    const svg = await ctx.store.get(a.key).catch(() => null);
    if (svg) flamegraphs.set(a.name, svg.body.toString('utf8'));
  }
  const files = [
    { name: 'summary.json', body: JSON.stringify(summaryDoc, null, 2), contentType: 'application/json' },
    { name: 'report.md', body: renderReportMarkdown(done), contentType: 'text/markdown; charset=utf-8' },
    { name: 'report.html', body: renderReportHtml(done, flamegraphs), contentType: 'text/html; charset=utf-8' },
    ...(comparison ? [{ name: 'comparison.json', body: JSON.stringify(comparison, null, 2), contentType: 'application/json' }] : []),
  ];
  const stored = [];
  for (const f of files) {
    const key = artifactKey(done.id, f.name);
    const { size } = await ctx.store.put(key, f.body, f.contentType);
    stored.push({ name: f.name, key, contentType: f.contentType, size, url: artifactUrl(done.id, f.name) });
  }
  done = { ...done, artifacts: [...stored, ...done.artifacts.filter((a) => !files.some((f) => f.name === a.name))] };
  await ctx.records.put(done);
  ctx.log.info({ investigation: done.id, status: done.status, headline: done.summary?.headline }, 'investigation finished');
  investigationsFinished.inc({ playbook: done.playbook, status: done.status });
  investigationSeconds.observe({ playbook: done.playbook }, (Date.parse(finishedAt) - Date.parse(done.createdAt)) / 1000);
  await tell(ctx, done.id, 'final');
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

/** Changes since earlier runs lead the findings; the headline says how many need a look. */
function withComparison(summary: Summary, comparison: SweepComparison): Summary {
  const changes = comparisonFindings(comparison);
  const notable = changes.filter((f) => f.severity !== 'info').length;
  return {
    headline: notable > 0 ? `${summary.headline} — ${notable} change(s) since previous sweeps` : summary.headline,
    findings: [...changes.filter((f) => f.severity !== 'info'), ...summary.findings, ...changes.filter((f) => f.severity === 'info')],
  };
}

