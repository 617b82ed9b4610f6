import { Capabilities } from '../../src/core/capabilities.ts';
import type { Step } from '../../src/core/investigation.ts';
import type { PlanContext, CompiledStep, StepDecision } from '../../src/playbooks/playbook.ts';
import type { Target } from '../../src/core/target.ts';
import type { CaptureJob } from '../../src/queue/jobs.ts';
import { captureScopeOf } from './capture-scope.ts';
import type { Placement } from './placement.ts';
import { stepEntry } from './step-entry.ts';

/** A fixed job id per (investigation, step, node) makes re-dispatch after an orchestrator crash a no-op, not a second capture. */
export const captureJobId = (invId: string, stepId: string, node: string) => `${invId}.${stepId}.${node}`;

/** One step planned over its nodes: the record's entries, one per node, and the capture jobs to queue. */
export interface StepPlan {
  entries: Step[];
  captures: CaptureJob[];
}

/**
 * Plans a step whose placement resolved: a failed entry for each node without a live agent, a skipped one where the
 * node lacks what the tool needs, and a running entry with its capture job everywhere else. Pure: the capabilities
 * were read beforehand (null where unknown or malformed, as a node the orchestrator knows nothing about).
 */
export function planStep(input: {
  investigationId: string;
  target: Target;
  step: CompiledStep;
  pctx: PlanContext;
  placements: readonly Placement[];
  dead: readonly string[];
  capabilities: ReadonlyMap<string, unknown>;
  thumbnails: boolean;
  at: string;
}): StepPlan {
  const { step, at } = input;
  const entries: Step[] = input.dead.map((node) => stepEntry(step, node, { status: 'failed', reason: `node ${node} has no live agent`, finishedAt: at }));
  const captures: CaptureJob[] = [];
  // A decision depends on the context and the node's capabilities only, and a fleet has few kinds of node: planned
  // once per kind, a 5,000-node step costs what a handful of nodes do (a plan evaluates CEL: ~0.1 ms).
  const decisions = new Map<string, StepDecision>();
  const decide = (raw: unknown): StepDecision => {
    const kind = JSON.stringify(raw) ?? 'unknown';
    let decision = decisions.get(kind);
    if (!decision) {
      const caps = Capabilities.safeParse(raw);
      decision = step.plan(input.pctx, caps.success ? caps.data : null);
      decisions.set(kind, decision);
    }
    return decision;
  };
  for (const { node, pods } of input.placements) {
    const decision = decide(input.capabilities.get(node));
    if (decision.action === 'skip') {
      entries.push(stepEntry(step, node, { status: 'skipped', skip: 'unsupported', reason: decision.reason, finishedAt: at }));
      continue;
    }
    captures.push({
      investigationId: input.investigationId,
      stepId: step.id,
      node,
      tool: decision.tool,
      params: decision.params,
      durationMs: decision.durationMs,
      thumbnails: input.thumbnails,
      scope: captureScopeOf(input.target, node, pods),
    });
    entries.push(
      stepEntry(step, node, {
        title: decision.title,
        tool: decision.tool,
        status: 'running',
        startedAt: at,
        ...(decision.fallbackReason ? { reason: `fallback to ${decision.tool}: ${decision.fallbackReason}` } : {}),
      }),
    );
  }
  return { entries, captures };
}

/** The entry of a step that reaches no node: its condition said not now (skipped), or it could not be placed (failed). */
export function unplacedEntry(step: CompiledStep, why: { skip: 'not-needed' | 'unsupported'; reason: string } | { error: string }, at: string): Step {
  return 'error' in why
    ? stepEntry(step, null, { status: 'failed', reason: why.error, finishedAt: at })
    : stepEntry(step, null, { status: 'skipped', reason: why.reason, skip: why.skip, finishedAt: at });
}

/** The record's steps with `entries` replacing those of the same step and node (a resumed run plans a step again). */
export function withEntries(steps: readonly Step[], entries: readonly Step[]): Step[] {
  const again = new Set(entries.map((e) => JSON.stringify([e.id, e.node])));
  return [...steps.filter((s) => !again.has(JSON.stringify([s.id, s.node]))), ...entries];
}
