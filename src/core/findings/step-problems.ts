import type { Finding, Step } from '../investigation.ts';

/** Steps that did not produce a result become findings of their own, so a summary never hides a failed capture. */
export function stepProblemFindings(steps: Step[]): Finding[] {
  return steps
    .filter((s) => s.status === 'failed' || s.status === 'skipped' || s.status === 'cancelled')
    .map((s) => ({
      severity: s.status === 'failed' ? ('warning' as const) : ('info' as const),
      title: `${s.tool} on ${s.node ?? 'no node'} ${s.status}`,
      detail: s.reason ?? 'no reason recorded',
      evidence: [s.id],
    }));
}

export function succeededSteps(steps: Step[], stepId: string): Step[] {
  return steps.filter((s) => s.id === stepId && s.status === 'succeeded');
}
