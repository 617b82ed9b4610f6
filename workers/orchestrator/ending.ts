import { bySeverity, type Investigation, type InvestigationStatus, type Step, type Summary } from '../../src/core/investigation.ts';
import { artifactNamesOf } from '../../src/findings/step-problems.ts';
import type { Playbook } from '../../src/playbooks/playbook.ts';
import { comparisonFindings, type SweepComparison } from '../../src/sweeps/compare.ts';

/** The playbook a run follows and its parsed parameters: what summarizing needs (absent when a run ends lost). */
export interface RunPlan {
  playbook: Playbook;
  params: Record<string, unknown>;
}

/** How a run whose steps all ran ends: succeeded when any step did, else failed with the steps' reasons. */
export function outcomeOfSteps(steps: readonly Step[]): { status: InvestigationStatus; reason?: string } {
  if (steps.some((s) => s.status === 'succeeded')) return { status: 'succeeded' };
  return { status: 'failed', reason: steps.map((s) => s.reason).filter(Boolean).join('; ') || 'no step succeeded' };
}

/** A step still open when the investigation ends captured nothing that will be kept: its reason says why. */
export function closeOpenSteps(steps: readonly Step[], inv: Pick<Investigation, 'status' | 'reason'>, finishedAt: string): Step[] {
  const stopped = `not finished: ${inv.status === 'cancelled' ? 'the investigation was cancelled' : (inv.reason ?? 'the investigation ended')}`;
  return steps.map((s): Step => (s.status === 'running' || s.status === 'pending' ? { ...s, status: 'cancelled', finishedAt, reason: s.reason ? `${s.reason}; ${stopped}` : stopped } : s));
}

/**
 * The ended record with its summary: the playbook's, or (no plan: a lost run) a headline saying why it ended. The
 * steps did not all run in a lost run, and "nothing found" would mislead. `sweeps`: the node's health sweeps, for a
 * playbook that compares with them (triage).
 */
export function endedInvestigation(inv: Investigation, run: RunPlan | null, finishedAt: string, sweeps: readonly Investigation[] = []): Investigation {
  const done: Investigation = { ...inv, finishedAt, steps: closeOpenSteps(inv.steps, inv, finishedAt) };
  if (run) done.summary = run.playbook.summarize({ investigation: done, params: run.params, steps: done.steps, sweeps });
  if (!done.summary && done.reason) done.summary = { headline: `Investigation ${done.status}: ${done.reason}`, findings: [], notes: [] };
  return done;
}

/**
 * Changes since earlier runs lead the findings; the headline says how many need a look. Their evidence is kept to
 * what this run stored (a node that failed every step has no result to point at).
 */
export function withComparison(summary: Summary, comparison: SweepComparison, steps: readonly Step[]): Summary {
  const stored = new Set(steps.flatMap(artifactNamesOf));
  const changes = comparisonFindings(comparison).map((f) => ({ ...f, evidence: f.evidence.filter((e) => stored.has(e.artifact)) }));
  const notable = changes.filter((f) => f.severity !== 'info').length;
  return {
    headline: notable > 0 ? `${summary.headline} — ${notable} change(s) since previous sweeps` : summary.headline,
    // Within a severity, changes first (the sort is stable).
    findings: [...changes.filter((f) => f.severity !== 'info'), ...summary.findings, ...changes.filter((f) => f.severity === 'info')].sort(bySeverity),
    notes: summary.notes,
  };
}
