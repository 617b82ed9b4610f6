import type { Job } from 'bullmq';
import { planContext } from '../../src/playbooks/plan-context.ts';
import type { CompiledStep } from '../../src/playbooks/playbook.ts';
import { CaptureOutcome } from '../../src/queue/jobs.ts';
import type { RecordVersion } from '../../src/records/investigation-records.ts';
import { captureJobId } from './dispatch-plan.ts';
import { advance, now, type RunContext } from './run-context.ts';
import { foldStepReturns } from './step-results.ts';

/**
 * The collect part of a run: once BullMQ wakes the investigation's job (its last capture ended or was given up on:
 * one wake-up per step, however many nodes), reads what every capture returned and records one entry per node.
 * Three reads whatever the fleet's size (children's values, their failures, the watchdog's reasons) and one write.
 */
export async function collectStep(
  ctx: RunContext,
  job: Job,
  version: RecordVersion,
  step: Pick<CompiledStep, 'id' | 'judge'>,
  params: Record<string, unknown>,
  dispatched: readonly string[],
): Promise<RecordVersion> {
  const stepId = step.id;
  const { inv } = version;
  const [values, failed, lost] = await Promise.all([
    job.getChildrenValues(),
    job.getIgnoredChildrenFailures(),
    ctx.watchdog.lostReasons(dispatched.map((node) => captureJobId(inv.id, stepId, node))),
  ]);
  const outcomes = new Map<string, CaptureOutcome>();
  for (const v of Object.values(values)) {
    const o = CaptureOutcome.safeParse(v);
    if (o.success && o.data.stepId === stepId) outcomes.set(o.data.node, o.data);
  }
  // Failures are keyed by the child's job key, "<prefix>:<queue>:<job id>"; the job id names the node.
  const failureByJob = new Map(Object.entries(failed).map(([key, reason]) => [key.slice(key.lastIndexOf(':') + 1), reason]));
  const failures = new Map<string, string>();
  const lostByNode = new Map<string, string>();
  for (const node of dispatched) {
    const jobId = captureJobId(inv.id, stepId, node);
    const failure = failureByJob.get(jobId);
    if (failure !== undefined) failures.set(node, failure);
    const reason = lost.get(jobId);
    if (reason) lostByNode.set(node, reason);
  }
  await ctx.watchdog.forget(inv.id);
  const at = Date.now();
  return advance(ctx, version, (cur) => {
    // The step's expectation sees the other steps as recorded now (this one's own entries are still running).
    const pctx = planContext(params, cur.target ?? {}, cur.steps);
    return foldStepReturns(cur, { stepId, outcomes, failures, lost: lostByNode, judge: (result) => step.judge(result, pctx) }, now(), at);
  });
}
