import { App, Yaml, type Chart } from 'cdk8s';
import { AgentChart } from './agent.ts';
import { ConfigChart } from './config.ts';
import { ControlPlaneChart } from './control-plane.ts';
import { NamespaceChart } from './namespace.ts';
import { NetworkChart } from './network.ts';
import { RbacChart } from './rbac.ts';

const HEADER = '# Generated from infra/k8s/src by `npm run synth:k8s`: change the TypeScript and run it again, not this file.\n';

/** base/: one file per concern (chart), named after it, and the kustomization that lists them. */
export function manifests(): Map<string, string> {
  const app = new App();
  const charts: Chart[] = [
    new NamespaceChart(app),
    new ConfigChart(app),
    new RbacChart(app),
    new ControlPlaneChart(app),
    new AgentChart(app),
    new NetworkChart(app),
  ];
  const files = new Map<string, string>();
  for (const chart of charts) files.set(`${chart.node.id}.yaml`, HEADER + Yaml.stringify(...chart.toJson()));
  const kustomization = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [...files.keys()] };
  files.set('kustomization.yaml', HEADER + Yaml.stringify(kustomization));
  return files;
}
