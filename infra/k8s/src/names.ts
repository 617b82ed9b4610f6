/**
 * The names, labels, ports and in-container paths the generated objects share: each is spelled here once, and the
 * charts, the overlay and the tests read it from here.
 */

export const NAMESPACE = 'tracehound';
const APP = 'tracehound';

/** The long-running parts of `tracehound <part>` (entry/cli.ts) that run in a cluster, one workload each. */
export const PARTS = ['api', 'orchestrator', 'agent'] as const;
export type Part = (typeof PARTS)[number];

/** The name of a part's workload, its ServiceAccount and its Service. */
export const partName = (part: Part) => `${APP}-${part}`;

/** Every part's pods carry it; COMPONENT_LABEL tells the parts apart. */
export const NAME_LABEL = { 'app.kubernetes.io/name': APP } as const;
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

/** What a part's pods are selected by (Deployment/DaemonSet selectors, Service, PDB, NetworkPolicy). */
export const selectorLabels = (part: Part) => ({ ...NAME_LABEL, [COMPONENT_LABEL]: part });

/** On every object, for `kubectl get all -l app.kubernetes.io/part-of=tracehound` and for telling who made it. */
export const COMMON_LABELS = { 'app.kubernetes.io/part-of': APP, 'app.kubernetes.io/managed-by': 'cdk8s' };

export const CONFIG_MAP = `${APP}-config`;

/** Secrets the operator creates (infra/README.md says how); the manifests only refer to them. */
export const SECRETS = {
  /** LINK_SECRET (same on API and orchestrator), SLACK_SIGNING_SECRET, MATTERMOST_COMMAND_TOKEN, ALERTMANAGER_BEARER_TOKEN. */
  app: `${APP}-secrets`,
  /** S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY; optional: without it the AWS SDK's default chain (IRSA, Pod Identity). */
  s3: `${APP}-s3`,
  /** One key, ACCESS_FILE_NAME: hashed API tokens and Slack rules. */
  access: `${APP}-access`,
} as const;

export const ACCESS_FILE_NAME = 'access.yaml';

/** The ClusterRole (and its binding) that lets the Kubernetes inventory read pods and nodes. */
export const INVENTORY_ROLE = `${APP}-inventory`;
export const AGENT_PRIORITY_CLASS = `${APP}-agent`;

export const PORTS = {
  /** The API's listener (PORT). */
  http: { name: 'http', port: 8080 },
  /** /metrics of the orchestrator and the agent (METRICS_PORT); the API serves its own on http. */
  metrics: { name: 'metrics', port: 9464 },
  /** What the Service offers in the cluster. */
  service: 80,
} as const;

/** Paths the API serves for probes (src/api/routes/health.ts) and the metrics server answers (src/metrics-server.ts). */
export const HTTP_PATHS = { live: '/healthz', ready: '/readyz', metrics: '/metrics' } as const;

/** Writable places in a read-only root filesystem, and where the access file is mounted. */
export const MOUNTS = {
  /** An emptyDir; DATA_DIR is a folder below it, which the process creates itself and may chmod (it is its owner). */
  state: '/var/lib/tracehound',
  tmp: '/tmp',
  access: '/etc/tracehound',
} as const;
export const DATA_DIR = `${MOUNTS.state}/data`;

/** The image's unprivileged user: `node` in the official Node images (uid and gid 1000). */
export const IMAGE_USER = { uid: 1000, gid: 1000 } as const;
