import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Where a Kubernetes client would get its configuration: in a pod, or from a kubeconfig file. */
export type KubeConfigSource = { kind: 'in-cluster' } | { kind: 'file'; file: string };

/**
 * In a pod (KUBERNETES_SERVICE_HOST set): the service account. Elsewhere: the first existing file of KUBECONFIG, or
 * ~/.kube/config. null when there is neither, i.e. this host has no Kubernetes to ask. Apart from the client
 * (kubernetes.ts) so that asking costs nothing: the client is loaded only when there is a cluster to talk to.
 */
export function findKubeConfig(env: Record<string, string | undefined> = process.env): KubeConfigSource | null {
  if (env.KUBERNETES_SERVICE_HOST) return { kind: 'in-cluster' };
  const home = env.HOME ?? homedir();
  const candidates = env.KUBECONFIG ? env.KUBECONFIG.split(delimiter).filter((p) => p !== '') : [join(home, '.kube', 'config')];
  const file = candidates.find((p) => existsSync(p));
  return file === undefined ? null : { kind: 'file', file };
}
