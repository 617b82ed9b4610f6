import { ForbiddenError, type FieldError } from '../core/errors.ts';
import type { Target } from '../core/target.ts';
import type { Resolution } from '../inventory/inventory.ts';
import type { Identity } from './identity.ts';

/** The namespace a target's pod fields (pod, namespace) name, or null when they name none or two different ones. */
export function targetNamespace(target: Target | undefined): string | null {
  if (!target) return null;
  const podNs = target.pod?.split('/')[0] ?? null;
  if (podNs && target.namespace && podNs !== target.namespace) return null;
  return podNs ?? target.namespace ?? null;
}

/**
 * Why a target is not confined to these namespaces, field by field; [] when it is. Only pod, namespace and
 * labelSelector resolve to pods whose namespace the inventory vouches for. A cgroup or a pid can be any process on
 * the node, and the capture would cover it as well, so they are refused outright rather than checked. A node
 * beside pods is judged later against where they run (authorizeNode); a node alone reaches every namespace on it.
 */
function namespaceProblems(namespaces: readonly string[], target: Target | undefined): FieldError[] {
  const elsewhere = `target a pod or a namespace in ${namespaces.join(', ')} instead`;
  if (!target) return [{ path: 'target', message: `a run without a target covers the whole fleet: ${elsewhere}` }];
  const problems: FieldError[] = [];
  if (target.cgroup !== undefined) problems.push({ path: 'target.cgroup', message: `a cgroup can hold any process on the node: ${elsewhere}` });
  if (target.pid !== undefined) problems.push({ path: 'target.pid', message: `a pid can be any process on the node: ${elsewhere}` });
  const podFields = target.pod !== undefined || target.namespace !== undefined;
  if (!podFields) {
    if (target.node !== undefined) problems.push({ path: 'target.node', message: `a node alone covers every namespace on it: ${elsewhere}` });
    return problems;
  }
  const ns = targetNamespace(target);
  if (ns === null) problems.push({ path: 'target.namespace', message: "must be the pod's namespace or absent" });
  else if (!namespaces.includes(ns)) problems.push({ path: target.pod !== undefined ? 'target.pod' : 'target.namespace', message: `namespace ${ns} is not one of ${namespaces.join(', ')}` });
  return problems;
}

/**
 * Throws ForbiddenError, naming each refused field, when the identity may not run this playbook on this target.
 * Runs before anything is recorded, queued or counted against the requester's rate.
 */
export function authorizeInvestigation(who: Identity, playbook: string, target: Target | undefined): void {
  if (who.playbooks && !who.playbooks.includes(playbook)) {
    throw new ForbiddenError(`${who.requestedBy} may not run playbook ${playbook}; allowed: ${who.playbooks.join(', ')}`, [
      { path: 'playbook', message: `allowed: ${who.playbooks.join(', ')}` },
    ]);
  }
  if (!who.namespaces) return;
  const problems = namespaceProblems(who.namespaces, target);
  if (problems.length > 0) {
    throw new ForbiddenError(
      `${who.requestedBy} is limited to namespaces ${who.namespaces.join(', ')}: target a pod or a namespace there, not a node, cgroup, pid or the whole fleet (refused: ${problems.map((p) => p.path).join(', ')})`,
      problems,
    );
  }
}

/**
 * A namespace-limited identity may name a node only to narrow its pods to one they run on (`resolution` is the
 * inventory's answer for the target WITHOUT the node), never to reach a node beside them.
 */
export function authorizeNode(who: Identity, target: Target, resolution: Resolution): void {
  if (!who.namespaces || target.node === undefined || resolution.nodes.includes(target.node)) return;
  const where = resolution.nodes.length ? `run on ${resolution.nodes.join(', ')}` : 'run on no node yet';
  throw new ForbiddenError(`${who.requestedBy} is limited to namespaces ${who.namespaces.join(', ')}: it may name a node only where the target's pods run (refused: target.node)`, [
    { path: 'target.node', message: `the target's pods ${where}, not on ${target.node}` },
  ]);
}

/** Namespace-limited identities see only investigations (and schedules) they could have started themselves. */
export function canSee(who: Identity, inv: { target?: Target | undefined; playbook: string }): boolean {
  if (!who.namespaces) return true;
  return namespaceProblems(who.namespaces, inv.target).length === 0;
}
