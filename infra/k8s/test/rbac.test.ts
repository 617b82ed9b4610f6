import { readFileSync } from 'node:fs';
import type { IClusterRole, IClusterRoleBinding, IPolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { describe, expect, it } from 'vitest';
import { INVENTORY_ROLE } from '../src/names.ts';
import { baseDocs, find, workloads } from './base-docs.ts';

/** The inventory's calls, read from its source: `this.api.<method>(` on CoreV1Api. */
const INVENTORY_SOURCE = new URL('../../../src/inventory/kubernetes.ts', import.meta.url);

/** What the Kubernetes API authorizes a CoreV1Api method as: its verb and resource (readNamespacedPod → get pods). */
function permissionOf(method: string): { verb: string; resource: string } {
  const m = /^(read|list|watch)(?:Namespaced)?([A-Z][A-Za-z]*?)(?:ForAllNamespaces)?$/.exec(method);
  if (!m) throw new Error(`CoreV1Api.${method}: not a read call this test knows how to authorize; map it here and grant it in rbac.ts`);
  const verb = { read: 'get', list: 'list', watch: 'watch' }[m[1] as 'read' | 'list' | 'watch'];
  const kind = m[2]!.toLowerCase();
  // Plural as the core kinds form it (pods, nodes, persistentvolumeclaims, policies); Endpoints-like kinds need a case here.
  const resource = kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : `${kind}s`;
  return { verb, resource };
}

const allows = (rules: IPolicyRule[], verb: string, resource: string) =>
  rules.some((r) => (r.apiGroups ?? []).includes('') && (r.resources ?? []).includes(resource) && r.verbs.includes(verb));

describe('RBAC: the inventory may do what it does and nothing more', () => {
  const docs = baseDocs();
  const role = find<IClusterRole>(docs, 'ClusterRole', INVENTORY_ROLE);
  const rules = role.rules ?? [];
  const calls = [...readFileSync(INVENTORY_SOURCE, 'utf8').matchAll(/this\.api\.(\w+)\(/g)].map((m) => m[1]!);
  const needed = calls.map(permissionOf);

  it('finds the calls it checks', () => {
    expect(calls).toContain('readNamespacedPod');
  });

  it.each(calls)('allows CoreV1Api.%s', (method) => {
    const { verb, resource } = permissionOf(method);
    expect(allows(rules, verb, resource), `${method} needs ${verb} ${resource}`).toBe(true);
  });

  it('names only the resources the calls use, in the core group, read-only', () => {
    for (const rule of rules) {
      expect(rule.apiGroups).toEqual(['']);
      expect(rule.resourceNames ?? [], 'no per-name rules').toEqual([]);
      expect(rule.nonResourceURLs ?? []).toEqual([]);
      for (const resource of rule.resources ?? []) expect(needed.map((n) => n.resource), `${resource} is granted but never read`).toContain(resource);
      for (const verb of rule.verbs) expect(['get', 'list', 'watch']).toContain(verb);
    }
  });

  it('maps method names to the permission the API server checks', () => {
    expect(permissionOf('listNode')).toEqual({ verb: 'list', resource: 'nodes' });
    expect(permissionOf('listPodForAllNamespaces')).toEqual({ verb: 'list', resource: 'pods' });
    expect(permissionOf('readNamespacedPersistentVolumeClaim')).toEqual({ verb: 'get', resource: 'persistentvolumeclaims' });
    expect(() => permissionOf('deleteNamespacedPod')).toThrow(/not a read call/);
  });

  it('is bound to the service accounts of the pods that have a token, and only to them', () => {
    const binding = find<IClusterRoleBinding>(docs, 'ClusterRoleBinding', INVENTORY_ROLE);
    expect(binding.roleRef).toMatchObject({ kind: 'ClusterRole', name: INVENTORY_ROLE });
    const withToken = workloads(docs)
      .filter((w) => w.spec?.template.spec?.automountServiceAccountToken !== false)
      .map((w) => ({ kind: 'ServiceAccount', name: w.spec?.template.spec?.serviceAccountName, namespace: w.metadata.namespace }));
    expect(binding.subjects).toEqual(withToken);
    expect(docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding' || d.kind === 'Role' || d.kind === 'ClusterRole')).toHaveLength(2);
  });
});
