import type { Investigation, Step } from '../../src/core/investigation.ts';
import { mergeArtifacts, withUnstored, withUrl } from '../../src/core/record-artifacts.ts';
import type { CaptureOutcome } from '../../src/queue/jobs.ts';

/** What came back for one dispatched step: an outcome per node that answered, and why the others did not. */
export interface StepReturns {
  stepId: string;
  /** By node: what its agent returned. */
  outcomes: ReadonlyMap<string, CaptureOutcome>;
  /** By node: why BullMQ failed its capture job (the agent threw, or its retries ran out). */
  failures: ReadonlyMap<string, string>;
  /** By node: why the watchdog gave up on its capture (agent gone, past its deadline). */
  lost: ReadonlyMap<string, string>;
  /** Why a succeeded capture's result does not count (the step's `expect`), or null when it does. */
  judge?: (result: unknown) => string | null;
}

/**
 * Folds a step's returns into the record as it is now (late artifacts of a node may have been merged while others
 * still captured): each running entry of the step ends as its agent said, or failed with the reason nothing came
 * back; the stored artifacts are listed on the record. `at` (epoch ms) ages outputs not stored yet.
 */
export function foldStepReturns(cur: Investigation, returns: StepReturns, finishedAt: string, at: number): Investigation {
  const arrived = new Set(cur.artifacts.map((a) => a.name));
  const steps = cur.steps.map((s): Step => {
    if (s.id !== returns.stepId || s.status !== 'running' || !s.node) return s;
    const o = returns.outcomes.get(s.node);
    if (!o) {
      const reason = returns.lost.get(s.node) ?? `capture job failed: ${returns.failures.get(s.node) ?? 'no result returned'}`;
      return { ...s, status: 'failed', finishedAt, reason };
    }
    // A capture that ran but saw nothing of what the step expects is not a success: it fails, saying why.
    const rejected = o.status === 'succeeded' && returns.judge ? returns.judge(o.result) : null;
    const entry: Step = {
      ...s,
      status: rejected ? 'failed' : o.status,
      // An agent skips a capture only when its node lacks what the tool needs.
      ...(o.status === 'skipped' ? { skip: 'unsupported' as const } : {}),
      startedAt: o.startedAt,
      finishedAt: o.finishedAt,
      ...(o.variant ? { variant: o.variant } : {}),
      ...(o.cost ? { cost: o.cost } : {}),
      ...(o.reason || rejected ? { reason: [s.reason, o.reason, rejected].filter(Boolean).join('; ') } : {}),
      ...(o.result !== undefined ? { result: o.result } : {}),
      artifacts: [...new Set([...s.artifacts, ...o.artifacts.map((a) => a.name)])],
    };
    // A result whose outputs could not be stored keeps its status; its reason says what is missing, and for how long.
    return withUnstored(entry, o.unstored.filter((u) => !arrived.has(u.name)), at);
  });
  const artifacts = mergeArtifacts(cur.artifacts, [...returns.outcomes.values()].flatMap((o) => o.artifacts.map((a) => withUrl(cur.id, a))));
  return { ...cur, steps, artifacts };
}
