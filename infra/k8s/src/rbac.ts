import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ServiceAccount } from 'kubernetes-models/v1';
import { add } from './model.ts';
import { COMMON_LABELS, INVENTORY_ROLE, NAMESPACE, PARTS, partName, selectorLabels, type Part } from './names.ts';

/**
 * The Kubernetes inventory (src/inventory/kubernetes.ts) reads pods (get one, list a namespace's) and nodes (list),
 * in every namespace an investigation may name: a ClusterRole, read-only, and nothing else. `watch` is granted
 * beside get/list so an informer-based inventory needs no new role; test/rbac.test.ts checks the rules against
 * the calls the inventory makes.
 */
export const INVENTORY_RULES = [{ apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] }];

/** The parts that resolve targets: the API (at request time) and the orchestrator (placing steps). */
const INVENTORY_USERS: Part[] = ['api', 'orchestrator'];

export class RbacChart extends Chart {
  constructor(scope: Construct) {
    super(scope, 'rbac', { labels: COMMON_LABELS });
    for (const part of PARTS) {
      add(
        this,
        new ServiceAccount({
          metadata: { name: partName(part), namespace: NAMESPACE, labels: selectorLabels(part) },
          // Only the inventory's users get a token in their pods; the agent never talks to the Kubernetes API.
          automountServiceAccountToken: INVENTORY_USERS.includes(part),
        }),
      );
    }
    add(this, new ClusterRole({ metadata: { name: INVENTORY_ROLE }, rules: INVENTORY_RULES }));
    add(
      this,
      new ClusterRoleBinding({
        metadata: { name: INVENTORY_ROLE },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: INVENTORY_ROLE },
        subjects: INVENTORY_USERS.map((part) => ({ kind: 'ServiceAccount', name: partName(part), namespace: NAMESPACE })),
      }),
    );
  }
}
