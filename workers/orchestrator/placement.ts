import { TracehoundError } from '../../src/core/errors.ts';
import type { PodRef, Target } from '../../src/core/target.ts';
import { targetsPods, type Inventory } from '../../src/inventory/inventory.ts';
import type { NodeInfo, NodeRegistry } from '../../src/inventory/node-registry.ts';

/** Where one step runs: a live node, and the target's pods on it (empty for node, cgroup and pid targets). */
export interface Placement {
  node: string;
  pods: PodRef[];
}

export type PlacementResult = { placements: Placement[]; dead: string[] } | { error: string };

/**
 * Turns a target into the nodes a step runs on. Pods, namespaces and label selectors go through the inventory
 * (Kubernetes), then each node must have a live agent: nodes without one are reported as dead, so their part of
 * the step fails with the reason while the others run. Re-resolved at every step: pods move, agents die.
 */
export async function resolvePlacements(target: Target | undefined, registry: NodeRegistry, inventory: Inventory | null): Promise<PlacementResult> {
  return placeOn(target, await registry.list(), inventory);
}

/** resolvePlacements on the live agents read already (dispatch reads them once, for their capabilities too). */
export async function placeOn(target: Target | undefined, agents: readonly NodeInfo[], inventory: Inventory | null): Promise<PlacementResult> {
  const live = new Set(agents.map((n) => n.name));
  if (!target) {
    return live.size ? { placements: [...live].sort().map((node) => ({ node, pods: [] })), dead: [] } : { error: 'no node agent is alive' };
  }
  if (targetsPods(target)) {
    if (!inventory || inventory.kind !== 'kubernetes') return { error: 'pod, namespace and labelSelector targets need the Kubernetes inventory' };
    let resolution;
    try {
      resolution = await inventory.resolve(target);
    } catch (err) {
      if (err instanceof TracehoundError) return { error: err.message };
      throw err;
    }
    if (resolution.nodes.length === 0) return { error: 'no running pod matches the target' };
    const placements = resolution.nodes
      .filter((node) => live.has(node))
      .map((node) => ({
        node,
        pods: resolution.pods
          .filter((p) => p.node === node && p.phase === 'Running')
          .map((p): PodRef => ({ namespace: p.namespace, name: p.name, uid: p.uid, qosClass: p.qosClass, containers: p.containers })),
      }));
    return { placements, dead: resolution.nodes.filter((node) => !live.has(node)) };
  }
  if (target.node) return live.has(target.node) ? { placements: [{ node: target.node, pods: [] }], dead: [] } : { placements: [], dead: [target.node] };
  if (live.size === 0) return { error: 'no node agent is alive' };
  if (live.size > 1) return { error: `the target names no node and ${live.size} agents are alive (${[...live].sort().join(', ')}); give target.node` };
  return { placements: [{ node: [...live][0]!, pods: [] }], dead: [] };
}
