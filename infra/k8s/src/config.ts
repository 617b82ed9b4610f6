import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { ConfigMap, type IEnvFromSource } from 'kubernetes-models/v1';
import { add } from './model.ts';
import { COMMON_LABELS, CONFIG_MAP, NAMESPACE, SECRETS, type Part } from './names.ts';
import { SETTINGS } from './settings.ts';

/** tracehound-config; the Secrets beside it are the operator's (names.ts SECRETS), never generated here. */
export class ConfigChart extends Chart {
  constructor(scope: Construct) {
    super(scope, 'config', { labels: COMMON_LABELS });
    add(this, new ConfigMap({ metadata: { name: CONFIG_MAP, namespace: NAMESPACE }, data: { ...SETTINGS } }));
  }
}

/**
 * What a part's environment comes from. The S3 keys are optional (without them the AWS SDK's default chain: IRSA,
 * EKS Pod Identity). tracehound-secrets is required by the API and the orchestrator: without one LINK_SECRET each
 * replica would make its own, and a link signed by one would be refused by the others. The agent signs nothing.
 */
export function envFrom(part: Part): IEnvFromSource[] {
  return [
    { configMapRef: { name: CONFIG_MAP } },
    { secretRef: { name: SECRETS.s3, optional: true } },
    ...(part === 'agent' ? [] : [{ secretRef: { name: SECRETS.app } }]),
  ];
}
