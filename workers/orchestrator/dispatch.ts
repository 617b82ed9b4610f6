import type { Job } from 'bullmq';
import { planContext } from '../../src/core/playbooks/engine.ts';
import type { PlaybookStep } from '../../src/core/playbooks/playbook.ts';
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
 * The dispatch part of a run: plans one step (placement, each node's capabilities), queues its capture jobs as
 * children of the investigation's job, has the watchdog look after them and records the step's entries. Returns the
 * record as written and the nodes whose captures the run must wait for (none: go on to the next step).
 *
 * Every Redis exchange is one round trip whatever the fleet's size — one read of the nodes' capabilities, one
 * transaction adding every capture job (FlowProducer.addBulk: one queue per node, so Queue.addBulk cannot), one for
 * the watchdog, one record write — so a 5,000-node step costs what a 5-node one does, plus Redis's own work.
 */
export async function dispatchStep(
  ctx: RunContext,
  job: Job,
  version: RecordVersion,
  step: PlaybookStep,
  params: Record<string, unknown>,
): Promise<{ version: RecordVersion; waitFor: string[] }> {
  const { inv } = version;
  const id = inv.id;
  // Entries of this step replace any recorded before a crash (a resumed run plans the step again): one per node.
  const record = (entries: Parameters<typeof withEntries>[1]) => advance(ctx, version, (cur) => ({ ...cur, steps: withEntries(cur.steps, entries) }));
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

  if (captures.length > 0) {
    const parent = { id: job.id!, queue: job.queueQualifiedName };
    await ctx.flows.addBulk(
      captures.map((data) => ({
        name: data.tool,
        queueName: captureQueue(data.node).name,
        data,
        opts: { jobId: captureJobId(id, step.id, data.node), parent, ignoreDependencyOnFailure: true, removeOnComplete: CAPTURE_JOB_KEEP, removeOnFail: CAPTURE_JOB_KEEP },
      })),
    );
  }
  // Watched only once the jobs exist: a watched job not found is taken for one that ended.
  const at = Date.now();
  const [, recorded] = await Promise.all([
    ctx.watchdog.watch(id, captures.map((c) => ({ jobId: captureJobId(id, step.id, c.node), node: c.node, deadline: at + c.durationMs + CAPTURE_SLACK_MS }))),
    record(entries),
  ]);
  failpoint('orchestrator.after-dispatch'); // test/faults: crash with capture jobs queued and recorded, progress not yet saved
  return { version: recorded, waitFor: captures.map((c) => c.node) };
}
