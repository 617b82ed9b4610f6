import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { NetworkPolicy, type INetworkPolicyPeer, type INetworkPolicyPort, type INetworkPolicySpec } from 'kubernetes-models/networking.k8s.io/v1';
import { add } from './model.ts';
import { COMMON_LABELS, COMPONENT_LABEL, NAME_LABEL, NAMESPACE, PARTS, PORTS, selectorLabels, type Part } from './names.ts';
import { SETTINGS, portOf } from './settings.ts';

/**
 * Deny by default, then one policy per door: a policy per destination, so an overlay narrows one of them (the
 * Redis subnet, the S3 endpoint's prefix list) by replacing that policy's `to`, without repeating the others.
 * The external destinations are ANYWHERE until then: the cluster cannot know where the operator's Redis is.
 */
const ANYWHERE: INetworkPolicyPeer[] = [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }];
/** Where Prometheus runs; a placeholder to adjust (kubernetes.io/metadata.name is set on every namespace). */
const MONITORING: INetworkPolicyPeer[] = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
const CLUSTER_DNS: INetworkPolicyPeer[] = [
  { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
];
/**
 * The API server, as policies see it: after the `kubernetes` Service's address is translated to an endpoint, whose
 * port is the server's own (6443 on most distributions, 443 on some managed ones). Narrow to the endpoints' IPs.
 */
const KUBE_API_PORTS = [443, 6443];

/** Pods of these parts. */
function podsOf(parts: Part[]): INetworkPolicySpec['podSelector'] {
  const [first] = parts;
  if (parts.length === 1 && first !== undefined) return { matchLabels: selectorLabels(first) };
  return { matchLabels: { ...NAME_LABEL }, matchExpressions: [{ key: COMPONENT_LABEL, operator: 'In', values: parts }] };
}

const tcp = (...ports: number[]): INetworkPolicyPort[] => ports.map((port) => ({ protocol: 'TCP', port }));

/** Every policy, by name: what it lets through, for which parts. */
export const POLICIES: Record<string, INetworkPolicySpec> = {
  'default-deny': { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  // Users, Slack, Alertmanager, an ingress controller: the API's one port, from wherever they are.
  'api-ingress': { podSelector: podsOf(['api']), policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port: PORTS.http.name }] }] },
  // The other parts take no traffic but Prometheus' scrape.
  'metrics-ingress': {
    podSelector: podsOf(['orchestrator', 'agent']),
    policyTypes: ['Ingress'],
    ingress: [{ from: MONITORING, ports: [{ protocol: 'TCP', port: PORTS.metrics.name }] }],
  },
  'dns-egress': {
    podSelector: podsOf([...PARTS]),
    policyTypes: ['Egress'],
    egress: [{ to: CLUSTER_DNS, ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }],
  },
  'redis-egress': { podSelector: podsOf([...PARTS]), policyTypes: ['Egress'], egress: [{ to: ANYWHERE, ports: tcp(portOf(SETTINGS.REDIS_URL)) }] },
  's3-egress': { podSelector: podsOf([...PARTS]), policyTypes: ['Egress'], egress: [{ to: ANYWHERE, ports: tcp(portOf(SETTINGS.S3_ENDPOINT)) }] },
  'kube-api-egress': { podSelector: podsOf(['api', 'orchestrator']), policyTypes: ['Egress'], egress: [{ to: ANYWHERE, ports: tcp(...KUBE_API_PORTS) }] },
  // Chat posts (Slack response_url, webhooks): https to the hosts NOTIFY_URL_HOSTS allows, checked by the orchestrator.
  'notify-egress': { podSelector: podsOf(['orchestrator']), policyTypes: ['Egress'], egress: [{ to: ANYWHERE, ports: tcp(443) }] },
};

export const policyName = (key: string) => `tracehound-${key}`;

export class NetworkChart extends Chart {
  constructor(scope: Construct) {
    super(scope, 'network', { labels: COMMON_LABELS });
    for (const [key, spec] of Object.entries(POLICIES)) {
      add(this, new NetworkPolicy({ metadata: { name: policyName(key), namespace: NAMESPACE }, spec }));
    }
  }
}
