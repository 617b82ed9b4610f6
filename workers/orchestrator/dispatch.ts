import type { Job } from 'bullmq';
import { planContext } from '../../src/playbooks/plan-context.ts';
import type { Step } from '../../src/core/investigation.ts';
import type { CompiledStep } from '../../src/playbooks/playbook.ts';
import { failpoint } from '../../src/faults/failpoints.ts';
import type { RecordVersion } from '../../src/records/investigation-records.ts';
import { captureQueue } from '../../src/queue/queues.ts';
import { CAPTURE_SLACK_MS } from './deadline.ts';
import { captureJobId, planStep, unplacedEntry, withEntries } from './dispatch-plan.ts';
import { placeOn } from './placement.ts';
import { advance, now, type RunContext } from './run-context.ts';

/** Captures are kept a week after they end, for the record's links and for debugging. */
const CAPTURE_JOB_KEEP = { age: 7 * 24 * 3600 };
/**
 * Capture jobs per transaction. One transaction of 5,000 is built for ~0.3 s before Redis sees any of it and the
 * first agent can start; in chunks, the first 500 are capturing while the rest are built (bench/fanout.ts).
 */
const ADD_CHUNK = 500;

/**
 * The dispatch part of a run: plans one step (placement, each node's capabilities), queues its capture jobs as
 * children of the investigation's job, has the watchdog look after them and records the step's entries. Returns the
 * record as written and the nodes whose captures the run must wait for (none: go on to the next step).
 *
 * Nothing here talks to Redis once per node: the live agents are read once (placement and capabilities both come
 * from that read), the capture jobs are added in a few transactions sent at once (FlowProducer.addBulk: each node
 * has its own queue, so Queue.addBulk cannot), the watchdog's list is one write and the record another, which
 * carries the version the run last wrote instead of reading a record of thousands of steps back first.
 */
export async function dispatchStep(
  ctx: RunContext,
  job: Job,
  version: RecordVersion,
  step: CompiledStep,
  params: Record<string, unknown>,
): Promise<{ version: RecordVersion; waitFor: string[] }> {
  const { inv } = version;
  const id = inv.id;
  // Entries of this step replace any recorded before a crash (a resumed run plans the step again): one per node.
  const record = (entries: readonly Step[]) => advance(ctx, version, (cur) => ({ ...cur, steps: withEntries(cur.steps, entries) }));
  const target = inv.target ?? {};
  const pctx = planContext(params, target, inv.steps);
  const notNow = step.condition(pctx);
  if (notNow) return { version: await record([unplacedEntry(step, notNow, now())]), waitFor: [] };
  const agents = await ctx.registry.list();
  const resolution = await placeOn(inv.target, agents, ctx.inventory);
  if ('error' in resolution) return { version: await record([unplacedEntry(step, resolution, now())]), waitFor: [] };

  const thumbnails = (await ctx.hooks.wantsThumbnails?.(id).catch(() => false)) ?? false;
  const capabilities = new Map(agents.map((a) => [a.name, a.capabilities]));
  const { entries, captures } = planStep({ investigationId: id, target, step, pctx, placements: resolution.placements, dead: resolution.dead, capabilities, thumbnails, at: now() });

  const parent = { id: job.id!, queue: job.queueQualifiedName };
  const flows = captures.map((data) => ({
    name: data.tool,
    queueName: captureQueue(data.node).name,
    data,
    opts: { jobId: captureJobId(id, step.id, data.node), parent, ignoreDependencyOnFailure: true, removeOnComplete: CAPTURE_JOB_KEEP, removeOnFail: CAPTURE_JOB_KEEP },
  }));
  // In transactions of ADD_CHUNK, each sent before the next is built (the yield lets its build finish and reach the
  // socket): Redis runs one while the next is built, and agents start on the first while the last is on its way. A
  // crash in between leaves some added; the resumed run adds them again, as the same jobs (same ids).
  // Each chunk's failure is held (not left unhandled while the next is built) and the first one thrown after.
  const sent: Promise<{ failed: unknown } | null>[] = [];
  for (let i = 0; i < flows.length; i += ADD_CHUNK) {
    sent.push(ctx.flows.addBulk(flows.slice(i, i + ADD_CHUNK)).then(() => null, (failed: unknown) => ({ failed })));
    await new Promise((r) => setImmediate(r));
  }
  const failure = (await Promise.all(sent)).find((r) => r !== null);
  if (failure) throw failure.failed;
  // Watched only once the jobs exist: a watched job not found is taken for one that ended.
  const at = Date.now();
  const [, recorded] = await Promise.all([
    ctx.watchdog.watch(id, captures.map((c) => ({ jobId: captureJobId(id, step.id, c.node), node: c.node, deadline: at + c.durationMs + CAPTURE_SLACK_MS }))),
    record(entries),
  ]);
  failpoint('orchestrator.after-dispatch'); // test/faults: crash with capture jobs queued and recorded, progress not yet saved
  return { version: recorded, waitFor: captures.map((c) => c.node) };
}
