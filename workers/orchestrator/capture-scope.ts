import type { CaptureScope, PodRef, Target } from '../../src/core/target.ts';
import { targetsPods } from '../../src/inventory/inventory.ts';

/**
 * What one node's capture is scoped to: exactly the set the target resolved to there, never a union with other
 * fields. A pod target is its pods on this node (plus the pid, which only narrows); a cgroup beside them is dropped
 * (the intake refuses such targets; records older than that rule may still hold one). Without pods, the cgroup.
 */
export function captureScopeOf(target: Target, node: string, pods: readonly PodRef[]): CaptureScope {
  const pid = target.pid !== undefined ? { pid: target.pid } : {};
  if (!targetsPods(target)) return { ...(target.cgroup !== undefined ? { cgroup: target.cgroup } : {}), ...pid };
  // An empty pod list is no pod filter at all, i.e. the whole node: a pod target must never widen to that.
  if (pods.length === 0) throw new Error(`the target's pods resolved to none on node ${node}: refusing a node-wide capture`);
  return { pods: [...pods], ...pid };
}
