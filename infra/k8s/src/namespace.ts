import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { Namespace } from 'kubernetes-models/v1';
import { add } from './model.ts';
import { COMMON_LABELS, NAMESPACE } from './names.ts';

export class NamespaceChart extends Chart {
  constructor(scope: Construct) {
    super(scope, 'namespace', { labels: COMMON_LABELS });
    add(
      this,
      new Namespace({
        metadata: {
          name: NAMESPACE,
          labels: {
            // The agent needs the host's PID namespace, hostPath mounts and BPF capabilities: Pod Security's
            // "privileged" level. The API and orchestrator pods meet "restricted" all the same (test/security.test.ts).
            'pod-security.kubernetes.io/enforce': 'privileged',
          },
        },
      }),
    );
  }
}
