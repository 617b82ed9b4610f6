import { describeDurationMs } from '../../src/core/duration.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { planContext } from '../../src/playbooks/plan-context.ts';
import type { Playbook } from '../../src/playbooks/playbook.ts';

/** Beyond its duration, how long a capture may take (bpftrace start-up, printing, upload) before it is overdue. */
export const CAPTURE_SLACK_MS = 60_000;
/**
 * Per step, the orchestrator's own share: resolving nodes (maybe through the Kubernetes API), queueing the
 * captures, noticing they ended (the watchdog looks every second) and recording the results.
 */
export const DISPATCH_ALLOWANCE_MS = 30_000;
/** Summarizing, comparing with earlier runs and storing the report (bounded: see reports.ts) once the steps are done. */
export const FINISH_ALLOWANCE_MS = 30_000;

/**
 * The longest an investigation of this plan may run: every step's longest time box (conditions and results are not
 * known at the start, so every step counts, each on all its nodes at once) with the capture slack and the dispatch
 * allowance, plus the finish allowance. The watchdog already gives up on a capture at box + slack, so a run that
 * goes past this lost its orchestrator, not its captures.
 */
export function investigationBudgetMs(playbook: Playbook, params: Record<string, unknown>, target: Record<string, unknown>): number {
  const ctx = planContext(params, target, []);
  const steps = playbook.steps.reduce((sum, step) => sum + step.timeBoxMs(ctx) + CAPTURE_SLACK_MS + DISPATCH_ALLOWANCE_MS, 0);
  return steps + FINISH_ALLOWANCE_MS;
}

/** The reason a record past its deadline is ended with, saying where it stood. */
export function deadlineReason(inv: Investigation): string {
  const budget = inv.deadline && inv.startedAt ? Date.parse(inv.deadline) - Date.parse(inv.startedAt) : NaN;
  const within = Number.isFinite(budget) ? `within its deadline of ${describeDurationMs(budget)}` : 'within its deadline';
  return `no result ${within} (${whereItStood(inv)})`;
}

function whereItStood(inv: Investigation): string {
  const running = inv.steps.filter((s) => s.status === 'running' || s.status === 'pending');
  if (running.length > 0) {
    const ids = [...new Set(running.map((s) => s.id))];
    const nodes = [...new Set(running.map((s) => s.node).filter((n): n is string => n !== null))];
    return `still waiting for step ${ids.join(', ')}${nodes.length ? ` on ${nodes.join(', ')}` : ''}`;
  }
  const last = inv.steps.at(-1);
  return last ? `stopped after step ${last.id}` : 'before its first step';
}
