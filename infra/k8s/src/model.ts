import { ApiObject, type ApiObjectProps, type Chart } from 'cdk8s';

/** A kubernetes-models object: typed by the Kubernetes OpenAPI schema, and able to check itself against it. */
export interface KubernetesModel {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
  validate(): void;
  toJSON(): unknown;
}

/**
 * Adds an object to a chart after checking it against the Kubernetes OpenAPI schema, so an invalid object stops
 * `npm run synth:k8s` instead of reaching base/ (the tests check the committed files again).
 */
export function add(chart: Chart, model: KubernetesModel): ApiObject {
  model.validate();
  const name = model.metadata?.name;
  if (name === undefined) throw new Error(`a ${model.kind} without metadata.name: every object here is named`);
  return new ApiObject(chart, `${model.kind}-${name}`, model.toJSON() as ApiObjectProps);
}
