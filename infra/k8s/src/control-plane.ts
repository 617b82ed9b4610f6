import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Service, type IContainer, type IPodSpec, type IResourceRequirements } from 'kubernetes-models/v1';
import { envFrom } from './config.ts';
import { IMAGE } from './image.ts';
import { add } from './model.ts';
import {
  ACCESS_FILE_NAME,
  COMMON_LABELS,
  HTTP_PATHS,
  IMAGE_USER,
  MOUNTS,
  NAMESPACE,
  PORTS,
  SECRETS,
  partName,
  selectorLabels,
} from './names.ts';
import {
  DATA_DIR_ENV,
  LISTEN_ANYWHERE,
  METRICS_ENV,
  METRICS_LIVENESS,
  METRICS_PORT,
  UNPRIVILEGED,
  WRITABLE_MOUNTS,
  metricsAnnotations,
  writableVolumes,
} from './pod-parts.ts';

/**
 * The API and the orchestrator, as two Deployments rather than one: they scale on different things (the API on
 * requests and renders, the orchestrator on queued investigations), fail apart (a render storm must not starve
 * the playbook runner), and need different doors (the API takes traffic, the orchestrator none). Both are
 * stateless: investigations live in Redis, so replicas share the work and a restarted one resumes.
 */

/** Threads that draw diffs and PNGs beside the API's event loop: its CPU limit less the one the loop keeps. */
const API_CPU_LIMIT = 2;

const RESOURCES: Record<'api' | 'orchestrator', IResourceRequirements> = {
  api: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: String(API_CPU_LIMIT), memory: '1Gi' } },
  orchestrator: { requests: { cpu: '100m', memory: '192Mi' }, limits: { cpu: '1', memory: '512Mi' } },
};

const REPLICAS = 2;

function podSpec(part: 'api' | 'orchestrator', container: IContainer, extra: Pick<IPodSpec, 'volumes'> = {}): IPodSpec {
  return {
    serviceAccountName: partName(part),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: IMAGE_USER.uid,
      runAsGroup: IMAGE_USER.gid,
      // The access file's Secret volume is made readable by this group.
      fsGroup: IMAGE_USER.gid,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    // Replicas on different nodes where possible, so one node going down leaves the part running.
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selectorLabels(part) } },
    ],
    containers: [container],
    volumes: [...writableVolumes('256Mi'), ...(extra.volumes ?? [])],
  };
}

function deployment(part: 'api' | 'orchestrator', spec: IPodSpec, annotations: Record<string, string>): Deployment {
  return new Deployment({
    metadata: { name: partName(part), namespace: NAMESPACE, labels: selectorLabels(part) },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: selectorLabels(part) },
      template: { metadata: { labels: selectorLabels(part), annotations }, spec },
    },
  });
}

const api: IContainer = {
  name: 'api',
  image: IMAGE,
  args: ['api'],
  ports: [{ name: PORTS.http.name, containerPort: PORTS.http.port }],
  env: [
    LISTEN_ANYWHERE,
    { name: 'PORT', value: String(PORTS.http.port) },
    DATA_DIR_ENV,
    { name: 'ACCESS_FILE', value: `${MOUNTS.access}/${ACCESS_FILE_NAME}` },
    // Node sees the node's CPUs, not the container's limit: the pool's default would be sized for the node.
    { name: 'RENDER_POOL_SIZE', value: String(API_CPU_LIMIT - 1) },
  ],
  envFrom: envFrom('api'),
  volumeMounts: [...WRITABLE_MOUNTS, { name: 'access', mountPath: MOUNTS.access, readOnly: true }],
  // /readyz answers within 2 s whatever Redis and S3 do; failing it takes the replica out of the Service only.
  readinessProbe: { httpGet: { path: HTTP_PATHS.ready, port: PORTS.http.name }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
  livenessProbe: { httpGet: { path: HTTP_PATHS.live, port: PORTS.http.name }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
  resources: RESOURCES.api,
  securityContext: UNPRIVILEGED,
};

const orchestrator: IContainer = {
  name: 'orchestrator',
  image: IMAGE,
  // The playbook runner, the notification worker and the schedule runner: one process.
  args: ['orchestrator'],
  ports: [METRICS_PORT],
  env: [LISTEN_ANYWHERE, METRICS_ENV, DATA_DIR_ENV],
  envFrom: envFrom('orchestrator'),
  volumeMounts: WRITABLE_MOUNTS,
  livenessProbe: METRICS_LIVENESS,
  resources: RESOURCES.orchestrator,
  securityContext: UNPRIVILEGED,
};

export class ControlPlaneChart extends Chart {
  constructor(scope: Construct) {
    super(scope, 'control-plane', { labels: COMMON_LABELS });
    const accessVolume = { name: 'access', secret: { secretName: SECRETS.access, defaultMode: 0o440 } };
    add(this, deployment('api', podSpec('api', api, { volumes: [accessVolume] }), metricsAnnotations(PORTS.http.port)));
    add(this, deployment('orchestrator', podSpec('orchestrator', orchestrator), metricsAnnotations(PORTS.metrics.port)));
    add(
      this,
      new Service({
        metadata: { name: partName('api'), namespace: NAMESPACE, labels: selectorLabels('api') },
        spec: { selector: selectorLabels('api'), ports: [{ name: PORTS.http.name, port: PORTS.service, targetPort: PORTS.http.name }] },
      }),
    );
    // A drain takes at most one replica of each away at a time.
    for (const part of ['api', 'orchestrator'] as const) {
      add(
        this,
        new PodDisruptionBudget({
          metadata: { name: partName(part), namespace: NAMESPACE, labels: selectorLabels(part) },
          spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(part) } },
        }),
      );
    }
  }
}
