import { describeCost, formatCostShare } from '../core/capture-cost.ts';
import type { Evidence, Finding, Step } from '../core/investigation.ts';
import { artifactNamesOf } from './step-problems.ts';

/**
 * A capture that cost its node more than the node's budget (CAPTURE_COST_BUDGET, recorded in the cost) says so:
 * a fact about the capture, measured, so of high confidence, and of low severity (it is not about the target).
 */
export function overBudgetFindings(steps: readonly Step[]): Finding[] {
  return steps.flatMap((s): Finding[] => {
    const c = s.cost;
    if (!c?.overBudget || c.budget === undefined) return [];
    const where = s.node ? ` on ${s.node}` : '';
    const name = `${s.id}/${s.node ?? ''}/cost.json`;
    const stored = artifactNamesOf(s).includes(name);
    // What was judged (core/capture-cost.ts, judgedShare): the overhead while attached, measured for bpftrace only.
    const attached = c.attachedNodeCpuShare;
    if (attached === undefined) return [];
    const evidence: Evidence[] = stored ? [{ artifact: name, quote: `"attachedNodeCpuShare": ${attached}` }] : [];
    const title = `${s.tool}${where} cost ${formatCostShare(attached)} of the node's CPU while attached, over its ${formatCostShare(c.budget)} budget`;
    const whole = ` Over the whole capture, loading and printing included, it cost ${formatCostShare(c.nodeCpuShare)} of the node.`;
    return [
      {
        severity: 'info',
        title,
        detail: `${describeCost(c)}.${whole} A lower sampling rate, fewer probes or a narrower filter cost less. The budget is the agent's CAPTURE_COST_BUDGET.`,
        confidence: { level: 'high', reason: "measured on the node: the kernel's BPF run-time statistics and the capture process's CPU time" },
        evidence,
      },
    ];
  });
}
