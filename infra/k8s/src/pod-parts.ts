import type { IContainerPort, IEnvVar, IProbe, ISecurityContext, IVolume, IVolumeMount } from 'kubernetes-models/v1';
import { DATA_DIR, HTTP_PATHS, MOUNTS, PORTS } from './names.ts';

/** What the three workloads' pods have in common. */

/** A pod's network is its own: listen on every address of it (the default, 127.0.0.1, is unreachable from outside). */
export const LISTEN_ANYWHERE: IEnvVar = { name: 'HOST', value: '0.0.0.0' };

/**
 * The root filesystem is read-only; what a process writes goes to emptyDirs: DATA_DIR (the agent's spool of
 * artifacts storage did not take yet) and /tmp. Bounded, so a runaway writer is evicted instead of filling the node.
 */
export function writableVolumes(stateLimit: string): IVolume[] {
  return [
    { name: 'state', emptyDir: { sizeLimit: stateLimit } },
    { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
  ];
}
export const WRITABLE_MOUNTS: IVolumeMount[] = [
  { name: 'state', mountPath: MOUNTS.state },
  { name: 'tmp', mountPath: MOUNTS.tmp },
];
export const DATA_DIR_ENV: IEnvVar = { name: 'DATA_DIR', value: DATA_DIR };

/** For the API and the orchestrator: nothing of root, no capability, nothing gained at exec. */
export const UNPRIVILEGED: ISecurityContext = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

/** The orchestrator's and the agent's /metrics (METRICS_PORT). */
export const METRICS_ENV: IEnvVar = { name: 'METRICS_PORT', value: String(PORTS.metrics.port) };
export const METRICS_PORT: IContainerPort = { name: PORTS.metrics.name, containerPort: PORTS.metrics.port };

/**
 * Parts without an API are alive while their event loop answers /metrics. Not a readiness probe: no Service routes
 * to them, and a Redis outage must not restart them (they reconnect by themselves).
 */
export const METRICS_LIVENESS: IProbe = {
  httpGet: { path: HTTP_PATHS.metrics, port: PORTS.metrics.name },
  periodSeconds: 20,
  timeoutSeconds: 5,
  failureThreshold: 3,
};

/** Prometheus' common annotation convention, for scrape configs that use it (the API serves /metrics on http). */
export function metricsAnnotations(port: number): Record<string, string> {
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': HTTP_PATHS.metrics };
}
