import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  AbortError,
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
import type { Target } from '../core/target.ts';
import {
  passThrough,
  resolutionOf,
  targetsPods,
  type Inventory,
  type NodeEntry,
  type PodInfo,
  type QosClass,
  type Resolution,
} from './inventory.ts';

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

  /**
   * In a pod (KUBERNETES_SERVICE_HOST set): the service account. Elsewhere: the first existing file of KUBECONFIG, or
   * ~/.kube/config. null when there is neither, i.e. this host has no Kubernetes to ask.
   */
  static fromEnvironment(
    env: Record<string, string | undefined> = process.env,
    options: KubernetesInventoryOptions = {},
  ): KubernetesInventory | null {
    if (env.KUBERNETES_SERVICE_HOST) {
      const kc = new KubeConfig();
      // loadFromCluster reads host and port from process.env itself, like every in-cluster client.
      kc.loadFromCluster();
      return new KubernetesInventory(kc, options);
    }
    const home = env.HOME ?? homedir();
    const candidates = env.KUBECONFIG
      ? env.KUBECONFIG.split(delimiter).filter((p) => p !== '')
      : [join(home, '.kube', 'config')];
    const file = candidates.find((p) => existsSync(p));
    return file === undefined ? null : KubernetesInventory.fromKubeconfigFile(file, options);
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
      if (err instanceof AbortError || (err instanceof Error && err.name === 'AbortError')) {
        throw new ServiceUnavailableError(`Kubernetes API ${this.server} did not answer "${what}" within ${this.timeoutMs} ms`);
      }
      if (err instanceof Error) {
        throw new ServiceUnavailableError(`Kubernetes API ${this.server} unreachable (${what}): ${err.message}`);
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

const QOS_CLASSES: readonly string[] = ['Guaranteed', 'Burstable', 'BestEffort'];

/**
 * status.qosClass as the API server computed it. Only if it is missing (a pod object not written by an API server)
 * is it derived from the resources, with Kubernetes' rules but comparing quantities textually.
 */
function qosClassOf(pod: V1Pod): QosClass {
  const given = pod.status?.qosClass;
  if (given !== undefined && QOS_CLASSES.includes(given)) return given as QosClass;
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

// --- Label selectors -------------------------------------------------------------------------------------------

export type SelectorOperator = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values: string[];
}

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const INTEGER = /^-?[0-9]+$/;

/**
 * Parses a label selector with the grammar of k8s.io/apimachinery labels.Parse: comma-separated requirements
 * `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (v1,v2)`, `k notin (v1,v2)`, `k>n`, `k<n`; keys are qualified names
 * (`prefix/name`), values label values. Throws ValidationError (path target.labelSelector) saying what is wrong where.
 */
export function parseLabelSelector(selector: string): SelectorRequirement[] {
  return new SelectorParser(selector).parse();
}

/** Whether labels satisfy every requirement; `!=` and `notin` also match pods without the key, as in Kubernetes. */
export function matchesLabelSelector(requirements: SelectorRequirement[], labels: Record<string, string>): boolean {
  return requirements.every(({ key, operator, values }) => {
    const value = Object.hasOwn(labels, key) ? labels[key] : undefined;
    switch (operator) {
      case 'exists':
        return value !== undefined;
      case '!exists':
        return value === undefined;
      case '=':
      case 'in':
        return value !== undefined && values.includes(value);
      case '!=':
      case 'notin':
        return value === undefined || !values.includes(value);
      case 'gt':
      case 'lt': {
        if (value === undefined || !INTEGER.test(value)) return false;
        const [bound = '0'] = values;
        return operator === 'gt' ? Number(value) > Number(bound) : Number(value) < Number(bound);
      }
    }
  });
}

type Token = { kind: 'word' | 'op'; text: string; at: number };

class SelectorParser {
  private readonly tokens: Token[];
  private pos = 0;

  constructor(private readonly source: string) {
    this.tokens = tokenize(source);
  }

  parse(): SelectorRequirement[] {
    const requirements: SelectorRequirement[] = [];
    if (this.tokens.length === 0) return requirements;
    for (;;) {
      requirements.push(this.requirement());
      const next = this.take();
      if (next === undefined) return requirements;
      if (next.text !== ',') this.fail(next, `expected "," between requirements, found "${next.text}"`);
    }
  }

  private requirement(): SelectorRequirement {
    const first = this.take();
    if (first === undefined) this.fail(undefined, 'expected a requirement after ","');
    if (first.text === '!') return { key: this.key(this.take()), operator: '!exists', values: [] };
    const key = this.key(first);
    const op = this.peek();
    if (op === undefined || op.text === ',') return { key, operator: 'exists', values: [] };
    this.pos++;
    switch (op.text) {
      case '=':
      case '==':
        return { key, operator: '=', values: [this.value(this.take(), true)] };
      case '!=':
        return { key, operator: '!=', values: [this.value(this.take(), true)] };
      case '>':
      case '<':
        return { key, operator: op.text === '>' ? 'gt' : 'lt', values: [this.integer(this.take())] };
      case 'in':
        if (op.kind === 'word') return { key, operator: 'in', values: this.valueSet() };
        break;
      case 'notin':
        if (op.kind === 'word') return { key, operator: 'notin', values: this.valueSet() };
        break;
    }
    this.fail(op, `expected =, ==, !=, in, notin, > or < after "${key}", found "${op.text}"`);
  }

  private valueSet(): string[] {
    const open = this.take();
    if (open?.text !== '(') this.fail(open, 'expected "(" to open the value set');
    const values: string[] = [];
    for (;;) {
      const token = this.take();
      if (token === undefined) this.fail(undefined, 'value set is not closed with ")"');
      // Like the API server: "k in ()" and "k in (a,)" hold the empty value.
      if (token.text === ',' || token.text === ')') {
        values.push('');
        if (token.text === ')') return values;
        continue;
      }
      values.push(this.value(token, false));
      const sep = this.take();
      if (sep === undefined) this.fail(undefined, 'value set is not closed with ")"');
      if (sep.text === ')') return values;
      if (sep.text !== ',') this.fail(sep, 'expected "," or ")" in the value set');
    }
  }

  private key(token: Token | undefined): string {
    if (token?.kind !== 'word') this.fail(token, 'expected a label key');
    const slash = token.text.indexOf('/');
    const prefix = slash === -1 ? undefined : token.text.slice(0, slash);
    const name = slash === -1 ? token.text : token.text.slice(slash + 1);
    const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix));
    if (!prefixOk || name.length > 63 || !NAME_PART.test(name)) {
      this.fail(token, `"${token.text}" is not a valid label key ([prefix/]name, name at most 63 characters)`);
    }
    return token.text;
  }

  // An exact-match value may be empty ("k=" selects the empty value), which shows as no word before "," or the end.
  private value(token: Token | undefined, mayBeMissing: boolean): string {
    if (mayBeMissing && (token === undefined || token.text === ',')) {
      if (token !== undefined) this.pos--;
      return '';
    }
    if (token?.kind !== 'word') this.fail(token, 'expected a label value');
    if (token.text.length > 63 || !NAME_PART.test(token.text)) {
      this.fail(token, `"${token.text}" is not a valid label value (at most 63 characters: alphanumerics, "-", "_", ".")`);
    }
    return token.text;
  }

  private integer(token: Token | undefined): string {
    if (token?.kind !== 'word' || !INTEGER.test(token.text)) this.fail(token, 'expected an integer after > or <');
    return token.text;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private take(): Token | undefined {
    const token = this.tokens[this.pos];
    if (token !== undefined) this.pos++;
    return token;
  }

  private fail(token: Token | undefined, message: string): never {
    const where = token === undefined ? 'at the end' : `at character ${token.at + 1}`;
    const text = `${message} (${where} of "${this.source}")`;
    throw new ValidationError(`invalid labelSelector: ${text}`, [{ path: 'target.labelSelector', message: text }]);
  }
}

const OPERATOR_CHARS = new Set(['!', '=', ',', '(', ')', '<', '>']);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
    } else if (OPERATOR_CHARS.has(ch)) {
      const two = source.slice(i, i + 2);
      const text = two === '!=' || two === '==' ? two : ch;
      tokens.push({ kind: 'op', text, at: i });
      i += text.length;
    } else {
      const start = i;
      while (i < source.length && !/\s/.test(source[i] ?? '') && !OPERATOR_CHARS.has(source[i] ?? '')) i++;
      tokens.push({ kind: 'word', text: source.slice(start, i), at: start });
    }
  }
  return tokens;
}
