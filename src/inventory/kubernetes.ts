import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  ServerConfiguration,
  createConfiguration,
  type Middleware,
  type V1Container,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  NotFoundError,
  ServiceUnavailableError,
  TracehoundError,
  ValidationError,
} from '../core/errors.ts';
import { NodeName, QosClass, type Target } from '../core/target.ts';
import {
  passThrough,
  resolutionOf,
  targetsPods,
  type Inventory,
  type NodeEntry,
  type PodInfo,
  type Resolution,
} from './inventory.ts';
import { findKubeConfig, type KubeConfigSource } from './kube-config-source.ts';
import { parseLabelSelector } from './label-selector.ts';

export const DEFAULT_KUBE_TIMEOUT_MS = 5_000;

export interface KubernetesInventoryOptions {
  /** A request (connect, headers and body) that takes longer fails with ServiceUnavailableError. */
  timeoutMs?: number;
}

/**
 * Resolves targets against the Kubernetes API (read-only: get/list pods, list nodes). Needs RBAC `get`/`list` on
 * pods in the investigated namespaces and `list` on nodes.
 */
export class KubernetesInventory implements Inventory {
  readonly kind = 'kubernetes' as const;
  /** The API server URL, for messages. */
  readonly server: string;
  private readonly api: CoreV1Api;
  private readonly timeoutMs: number;

  constructor(kubeConfig: KubeConfig, options: KubernetesInventoryOptions = {}) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) {
      throw new ValidationError('the kubeconfig names no current cluster', [
        { path: 'kubeconfig.current-context', message: 'no cluster for the current context' },
      ]);
    }
    this.server = cluster.server;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_KUBE_TIMEOUT_MS;
    // As KubeConfig.makeApiClient does, plus a middleware: the generated client has no request timeout of its own.
    const timeoutMs = this.timeoutMs;
    const timeout: Middleware = {
      pre: async (context) => {
        context.setSignal(AbortSignal.timeout(timeoutMs));
        return context;
      },
      post: async (context) => context,
    };
    this.api = new CoreV1Api(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: kubeConfig },
        promiseMiddleware: [timeout],
      }),
    );
  }

  /** The client for what findKubeConfig finds in `env`; null when it finds nothing. */
  static fromEnvironment(
    env: Record<string, string | undefined> = process.env,
    options: KubernetesInventoryOptions = {},
  ): KubernetesInventory | null {
    const source = findKubeConfig(env);
    return source === null ? null : KubernetesInventory.fromSource(source, options);
  }

  static fromSource(source: KubeConfigSource, options: KubernetesInventoryOptions = {}): KubernetesInventory {
    if (source.kind === 'file') return KubernetesInventory.fromKubeconfigFile(source.file, options);
    const kc = new KubeConfig();
    // loadFromCluster reads host and port from process.env itself, like every in-cluster client.
    kc.loadFromCluster();
    return new KubernetesInventory(kc, options);
  }

  static fromKubeconfigFile(file: string, options: KubernetesInventoryOptions = {}): KubernetesInventory {
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    return new KubernetesInventory(kc, options);
  }

  async resolve(target: Target): Promise<Resolution> {
    if (!targetsPods(target)) return passThrough(target);
    if (target.pod !== undefined) return this.resolvePod(target, target.pod);
    const namespace = target.namespace;
    if (namespace === undefined) {
      throw new ValidationError('labelSelector needs a namespace', [
        { path: 'target.namespace', message: 'required with labelSelector' },
      ]);
    }
    const selector = target.labelSelector;
    if (selector !== undefined) parseLabelSelector(selector);
    const what = selector === undefined ? `namespace ${namespace}` : `labelSelector "${selector}" in namespace ${namespace}`;
    const pods = await this.listPods(namespace, selector);
    if (pods.length === 0) throw new NotFoundError(`no pods match ${what}`);
    if (target.node === undefined) return resolutionOf(pods);
    const onNode = pods.filter((p) => p.node === target.node);
    if (onNode.length === 0) throw new NotFoundError(`no pods match ${what} on node ${target.node}`);
    return resolutionOf(onNode);
  }

  async nodes(): Promise<NodeEntry[]> {
    const list = await this.request('list nodes', () => this.api.listNode());
    return list.items
      .map((n) => ({ name: n.metadata?.name ?? '', labels: { ...(n.metadata?.labels ?? {}) } }))
      .filter((n) => n.name !== '')
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async podsOnNode(node: string): Promise<PodInfo[]> {
    // The name goes into a field selector: only a node name as the intake accepts one may.
    const name = NodeName.parse(node);
    const list = await this.request(`list pods on node ${name}`, () =>
      this.api.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` }),
    );
    return list.items.map((p) => podInfo(p, p.metadata?.namespace ?? ''));
  }

  private async resolvePod(target: Target, ref: string): Promise<Resolution> {
    const [namespace = '', name = ''] = ref.split('/');
    if (target.labelSelector !== undefined) {
      throw new ValidationError('give either pod or labelSelector, not both', [
        { path: 'target.labelSelector', message: 'not allowed together with pod' },
      ]);
    }
    if (target.namespace !== undefined && target.namespace !== namespace) {
      throw new ValidationError(`namespace ${target.namespace} contradicts pod ${ref}`, [
        { path: 'target.namespace', message: `must be ${namespace} (the pod's namespace) or absent` },
      ]);
    }
    const pod = await this.request(`get pod ${ref}`, () => this.api.readNamespacedPod({ namespace, name }), {
      404: () => new NotFoundError(`pod ${ref} not found`),
    });
    const info = podInfo(pod, namespace);
    if (target.node !== undefined && info.node !== target.node) {
      const where = info.node ? `it is on ${info.node}` : 'not scheduled yet';
      throw new NotFoundError(`pod ${ref} is not on node ${target.node} (${where})`);
    }
    return resolutionOf([info]);
  }

  private async listPods(namespace: string, labelSelector: string | undefined): Promise<PodInfo[]> {
    const list = await this.request(
      `list pods in namespace ${namespace}`,
      () => this.api.listNamespacedPod({ namespace, labelSelector }),
      {
        // Our parser accepts what the API accepts; should the API still refuse a selector, the user hears why.
        400: (message) =>
          new ValidationError(`invalid labelSelector: ${message}`, [{ path: 'target.labelSelector', message }]),
      },
    );
    return list.items.map((p) => podInfo(p, namespace));
  }

  /** Runs one API call and turns every failure into a domain error; `byStatus` maps chosen HTTP codes. */
  private async request<T>(
    what: string,
    call: () => Promise<T>,
    byStatus: Record<number, (message: string) => Error> = {},
  ): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof TracehoundError) throw err;
      if (err instanceof ApiException) {
        // A 401 comes without a body; the generated client then only says "Unauthorized" in its own message.
        const message = statusMessage(err.body) ?? /^Message: (.+)$/m.exec(err.message)?.[1] ?? `HTTP ${err.code}`;
        const mapped = byStatus[err.code];
        if (mapped) throw mapped(message);
        throw new ServiceUnavailableError(`Kubernetes API ${this.server} refused to ${what}: ${err.code} ${message}`);
      }
      // The client fetches with undici: our AbortSignal.timeout rejects with its reason, a DOMException "TimeoutError".
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        throw new ServiceUnavailableError(`Kubernetes API ${this.server} did not answer "${what}" within ${this.timeoutMs} ms`);
      }
      if (err instanceof Error) {
        // undici says only "fetch failed"; what failed (ECONNREFUSED, a TLS error) is in its cause.
        const cause = err.cause instanceof Error ? ((err.cause as NodeJS.ErrnoException).code ?? err.cause.message) : null;
        throw new ServiceUnavailableError(`Kubernetes API ${this.server} unreachable (${what}): ${err.message}${cause ? ` (${cause})` : ''}`);
      }
      throw new ServiceUnavailableError(`Kubernetes API ${this.server} failed to ${what}: ${String(err)}`);
    }
  }
}

function podInfo(pod: V1Pod, namespace: string): PodInfo {
  const statuses = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s.containerID ?? null]));
  return {
    namespace: pod.metadata?.namespace ?? namespace,
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    node: pod.spec?.nodeName || null,
    phase: pod.status?.phase ?? 'Unknown',
    qosClass: qosClassOf(pod),
    containers: (pod.spec?.containers ?? []).map((c) => ({ name: c.name, id: statuses.get(c.name) ?? null })),
  };
}

/**
 * status.qosClass as the API server computed it. Only if it is missing (a pod object not written by an API server)
 * is it derived from the resources, with Kubernetes' rules but comparing quantities textually.
 */
function qosClassOf(pod: V1Pod): QosClass {
  const given = QosClass.safeParse(pod.status?.qosClass);
  if (given.success) return given.data;
  const containers: V1Container[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const resources = ['cpu', 'memory'];
  const any = containers.some((c) => resources.some((r) => c.resources?.requests?.[r] ?? c.resources?.limits?.[r]));
  if (!any) return 'BestEffort';
  const guaranteed = containers.every((c) =>
    resources.every((r) => {
      const limit = c.resources?.limits?.[r];
      const request = c.resources?.requests?.[r];
      return limit !== undefined && (request === undefined || request === limit);
    }),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** The message of a metav1.Status error body (the client hands it over as JSON text). */
function statusMessage(body: unknown): string | undefined {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() === '' ? undefined : body.trim();
    }
  }
  if (typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string') {
    return parsed.message;
  }
  return undefined;
}
