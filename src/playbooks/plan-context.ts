import type { Step, StepStatus } from '../core/investigation.ts';
import type { PlanContext, StepForExpressions } from './playbook.ts';

const RANK: Record<StepStatus, number> = { succeeded: 5, running: 4, pending: 3, failed: 2, cancelled: 1, skipped: 0 };

/** The expression view of recorded steps: one entry per step id, merged over its nodes. */
export function stepViews(steps: Step[]): Record<string, StepForExpressions> {
  const views: Record<string, StepForExpressions> = {};
  for (const s of steps) {
    const v = (views[s.id] ??= { status: s.status, results: [] });
    v.results.push({ node: s.node, status: s.status, ...(s.variant ? { variant: s.variant } : {}), ...(s.result !== undefined ? { result: s.result } : {}) });
    if (RANK[s.status] > RANK[v.status]) v.status = s.status;
    if (v.result === undefined && s.status === 'succeeded' && s.result !== undefined) {
      v.result = s.result;
      if (s.variant) v.variant = s.variant;
    }
    if (s.reason && !v.reason) v.reason = s.reason;
  }
  for (const v of Object.values(views)) if (v.status === 'succeeded') delete v.reason;
  return views;
}

export function planContext(params: Record<string, unknown>, target: Record<string, unknown>, steps: Step[]): PlanContext {
  return { params, target, steps: stepViews(steps) };
}
