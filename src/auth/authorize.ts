import { ForbiddenError } from '../core/errors.ts';
import type { Target } from '../core/target.ts';
import type { Identity } from './identity.ts';

/** The namespace a target is confined to, or null when it reaches beyond one (a node, a cgroup, a pid, the fleet). */
export function targetNamespace(target: Target | undefined): string | null {
  if (!target) return null;
  const podNs = target.pod?.split('/')[0] ?? null;
  if (podNs && target.namespace && podNs !== target.namespace) return null;
  return podNs ?? target.namespace ?? null;
}

/** Throws ForbiddenError when the identity may not run this playbook on this target. */
export function authorizeInvestigation(who: Identity, playbook: string, target: Target | undefined): void {
  if (who.playbooks && !who.playbooks.includes(playbook)) {
    throw new ForbiddenError(`${who.requestedBy} may not run playbook ${playbook}; allowed: ${who.playbooks.join(', ')}`);
  }
  if (who.namespaces) {
    const ns = targetNamespace(target);
    if (!ns) {
      throw new ForbiddenError(
        `${who.requestedBy} is limited to namespaces ${who.namespaces.join(', ')}: target a pod or a namespace there, not a node, cgroup, pid or the whole fleet`,
      );
    }
    if (!who.namespaces.includes(ns)) throw new ForbiddenError(`${who.requestedBy} may not investigate namespace ${ns}`);
  }
}

/** Namespace-limited identities see only investigations confined to their namespaces. */
export function canSee(who: Identity, inv: { target?: Target | undefined; playbook: string }): boolean {
  if (!who.namespaces) return true;
  const ns = targetNamespace(inv.target);
  return ns !== null && who.namespaces.includes(ns);
}
