import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { PriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { baseDocs, find, type Doc } from './base-docs.ts';

/** The schema-checked model of each kind the manifests use; a kind missing here fails the test rather than pass unchecked. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'apps/v1/DaemonSet': DaemonSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'scheduling.k8s.io/v1/PriorityClass': PriorityClass,
};

function validate(doc: Doc): void {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) throw new Error(`${doc.file}: no schema model for ${doc.apiVersion} ${doc.kind}; add it to MODELS`);
  const { file: _file, ...object } = doc;
  new Model(object as never).validate();
}

describe('infra/k8s/base against the Kubernetes OpenAPI schema (kubernetes-models)', () => {
  const docs = baseDocs();

  it('holds the objects of every concern', () => {
    expect(new Set(docs.map((d) => d.kind))).toEqual(new Set(Object.keys(MODELS).map((k) => k.split('/').at(-1))));
  });

  it.each(docs.map((d) => [`${d.file}: ${d.kind} ${d.metadata.name}`, d] as const))('%s validates', (_name, doc) => {
    expect(() => validate(doc)).not.toThrow();
  });

  it('rejects a broken object, so the check above can fail', () => {
    const agent = structuredClone(find<Doc & { spec: { template: { spec: { containers: { securityContext: { capabilities: { add: unknown } } }[] } } } }>(docs, 'DaemonSet', 'tracehound-agent'));
    const container = agent.spec.template.spec.containers[0]!;
    container.securityContext.capabilities.add = 'BPF';
    expect(() => validate(agent)).toThrow(/capabilities\/add must be array/);
  });
});
