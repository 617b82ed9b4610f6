import type { Target } from '../../src/core/target.ts';
import type { NodeRegistry } from '../../src/inventory/node-registry.ts';

export type NodeResolution = { nodes: string[] } | { error: string };

/**
 * Plain-host resolution: a named node must have a live agent; with no node named, a single live agent is the
 * target (the embedded default). Pods and label selectors need the Kubernetes inventory (issue #4).
 */
export async function resolveNodes(target: Target, registry: NodeRegistry): Promise<NodeResolution> {
  if (target.node) {
    return (await registry.get(target.node)) ? { nodes: [target.node] } : { error: `node ${target.node} has no live agent` };
  }
  const live = await registry.list();
  if (live.length === 0) return { error: 'no node agent is alive' };
  if (live.length > 1) {
    return { error: `the target names no node and ${live.length} agents are alive (${live.map((n) => n.name).join(', ')}); give target.node` };
  }
  return { nodes: [live[0]!.name] };
}
