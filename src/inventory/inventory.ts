import type { QosClass, Target } from '../core/target.ts';

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  /** spec.nodeName; null while the pod is not scheduled. */
  node: string | null;
  /** status.phase: Pending, Running, Succeeded, Failed, Unknown. */
  phase: string;
  qosClass: QosClass;
  /**
   * In spec order (init containers excluded); id as in status.containerStatuses[].containerID ("containerd://3f2a…"),
   * null until the container exists.
   */
  containers: { name: string; id: string | null }[];
}

/**
 * What a target names. `nodes` is distinct and sorted and holds only nodes that run a matched pod (phase Running):
 * a pod that is not scheduled (node null) or not Running is still reported in `pods` but has nothing to trace yet.
 * `pods` is sorted by namespace/name.
 */
export interface Resolution {
  nodes: string[];
  pods: PodInfo[];
}

export interface NodeEntry {
  name: string;
  labels: Record<string, string>;
}

export interface Inventory {
  kind: 'kubernetes' | 'static';
  /**
   * Resolves the Kubernetes parts of a target (pod, namespace + labelSelector, node). Plain cgroup/pid targets are not
   * the inventory's business: they resolve to { nodes: target.node ? [target.node] : [], pods: [] }.
   */
  resolve(target: Target): Promise<Resolution>;
  /** Known node names with labels (static file, or Kubernetes nodes), sorted by name. */
  nodes(): Promise<NodeEntry[]>;
  /**
   * Every pod scheduled on `node`, any namespace, any phase (per-pod figures of a node-wide sweep name cgroups by
   * these pods' uids). Absent where the inventory knows no pods (static hosts).
   */
  podsOnNode?(node: string): Promise<PodInfo[]>;
}

/** The resolution of a target without pod, namespace or selector: the node (if any) passes through. */
export function passThrough(target: Target): Resolution {
  return { nodes: target.node ? [target.node] : [], pods: [] };
}

export function targetsPods(target: Target): boolean {
  return target.pod !== undefined || target.namespace !== undefined || target.labelSelector !== undefined;
}

/** Builds a Resolution from matched pods, applying the ordering and "only Running pods contribute a node" rules. */
export function resolutionOf(pods: PodInfo[]): Resolution {
  const sorted = [...pods].sort((a, b) => compare(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
  const nodes = new Set<string>();
  for (const pod of sorted) if (pod.node !== null && pod.phase === 'Running') nodes.add(pod.node);
  return { nodes: [...nodes].sort(compare), pods: sorted };
}

// Code-unit order rather than localeCompare: node and pod names are ASCII and the order must not depend on the locale.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
