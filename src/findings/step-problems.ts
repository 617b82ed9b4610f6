import type { Finding, NextPlaybook, Step } from '../core/investigation.ts';

/** What a summarizer contributes; the playbook adds the step problems and notes once, for every summarizer and rule. */
export interface Draft {
  headline: string;
  findings: Finding[];
  /** The playbook to run next (triage's summarizer). */
  nextPlaybook?: NextPlaybook;
}

/**
 * A branch not taken: the one rule every summary and rendering uses. Records from before `skip` existed said
 * "condition not met: …" for the same thing.
 */
export const isNotNeeded = (s: Step) =>
  s.status === 'skipped' && (s.skip === 'not-needed' || (s.skip === undefined && /^(condition not met|not needed)\b/.test(s.reason ?? '')));

const stepName = (s: Step) => `${s.id}${s.node ? ` on ${s.node}` : ''}`;

/**
 * Steps that produced nothing, told once per summary. A failed capture is a finding (warning): it may hide the
 * cause. A step the node could not run, or a cancelled one, is a note: something was not looked at. A branch not
 * taken (its condition did not hold) is the playbook working and appears only in the steps table.
 */
export function stepProblems(steps: Step[]): { findings: Finding[]; notes: string[] } {
  const findings: Finding[] = [];
  const notes: string[] = [];
  for (const s of steps) {
    if (s.status === 'failed') {
      findings.push({
        severity: 'warning',
        title: `${s.tool} failed${s.node ? ` on ${s.node}` : ''}`,
        detail: s.reason ?? 'no reason recorded',
        // A fact about the capture, not about the target: the agent said so. It stored nothing to point at.
        confidence: { level: 'high', reason: 'the agent reported the capture failed' },
        evidence: [],
      });
    } else if (s.status === 'cancelled') {
      notes.push(`${stepName(s)} was cancelled${s.reason ? `: ${s.reason}` : ''}`);
    } else if (s.status === 'skipped' && !isNotNeeded(s)) {
      notes.push(`${stepName(s)} could not run${s.reason ? `: ${s.reason}` : ''}`);
    }
  }
  return { findings, notes };
}

export function succeededSteps(steps: Step[], stepId: string): Step[] {
  return steps.filter((s) => s.id === stepId && s.status === 'succeeded');
}

/**
 * The artifact names a step has (`errors/node-17/result.json`): what evidence may point at. Those still waiting in an
 * agent's spool count too: they are stored under that name once storage takes them.
 */
export const artifactNamesOf = (s: Step): string[] => [...s.artifacts, ...(s.unstored ?? []).map((u) => u.name)];

/** The artifact names of a step id's succeeded entries, optionally only those of one file (`result.json`). */
export function artifactsOf(steps: Step[], stepId: string, file?: string): string[] {
  const names = succeededSteps(steps, stepId).flatMap(artifactNamesOf);
  return [...new Set(names.filter((a) => file === undefined || a.endsWith(`/${file}`)))];
}
