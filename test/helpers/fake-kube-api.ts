import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { matchesLabelSelector, parseLabelSelector } from '../../src/inventory/label-selector.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/k8s/', import.meta.url));
export const FAKE_TOKEN = 'tracehound-test-token';

type Json = Record<string, unknown>;

export interface FakeKubeApi {
  /** http://127.0.0.1:PORT */
  url: string;
  /** A kubeconfig (token user) pointing at the server, in a temp dir removed by close(). */
  kubeconfig: string;
  /** Request lines served so far ("GET /api/v1/nodes"), to check what the client asked. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A local stand-in for kube-apiserver that serves the recorded objects of test/fixtures/k8s: GET a pod (or the
 * recorded 404 Status), list a namespace's pods with an optional labelSelector (matched on the recorded labels,
 * 400 Status for a selector the API server would refuse), list nodes. Anything else answers the API's 404 Status.
 */
export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  const store = await loadFixtures();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handle(store, req, res);
  });
  return { ...(await serveWithKubeconfig(server)), requests };
}

/** Accepts connections and never answers: a hung API server, for timeout tests. */
export async function startUnresponsiveServer(): Promise<{ url: string; kubeconfig: string; close(): Promise<void> }> {
  const server = createServer(() => {
    // Deliberately no response.
  });
  return serveWithKubeconfig(server);
}

/** Listens on loopback and writes a kubeconfig (token user) pointing at it; close() stops both. */
async function serveWithKubeconfig(server: Server): Promise<{ url: string; kubeconfig: string; close(): Promise<void> }> {
  const url = await listen(server);
  const dir = await mkdtemp(join(tmpdir(), 'tracehound-kube-'));
  const kubeconfig = join(dir, 'config');
  await writeFile(kubeconfig, kubeconfigYaml(url), 'utf8');
  return {
    url,
    kubeconfig,
    close: async () => {
      await closeServer(server);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// @kubernetes/client-node refuses a plain http:// server unless the cluster skips TLS verification.
export function kubeconfigYaml(server: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: fake',
    '  cluster:',
    `    server: ${server}`,
    '    insecure-skip-tls-verify: true',
    'contexts:',
    '- name: fake',
    '  context:',
    '    cluster: fake',
    '    user: tester',
    'current-context: fake',
    'users:',
    '- name: tester',
    '  user:',
    `    token: ${FAKE_TOKEN}`,
    '',
  ].join('\n');
}

interface Store {
  pods: Map<string, Json>; // "ns/name" -> Pod as GET returns it
  nodes: Json; // NodeList
  podNotFound: Json; // the recorded 404 Status for pods "nope"
}

async function loadFixtures(): Promise<Store> {
  const pods = new Map<string, Json>();
  for (const ns of await readdir(join(FIXTURES, 'pods'))) {
    for (const file of await readdir(join(FIXTURES, 'pods', ns))) {
      if (!file.endsWith('.json')) continue;
      const pod = JSON.parse(await readFile(join(FIXTURES, 'pods', ns, file), 'utf8')) as Json;
      const meta = pod.metadata as { namespace: string; name: string };
      pods.set(`${meta.namespace}/${meta.name}`, pod);
    }
  }
  const nodes = JSON.parse(await readFile(join(FIXTURES, 'nodes.json'), 'utf8')) as Json;
  const podNotFound = JSON.parse(await readFile(join(FIXTURES, 'status-pod-not-found.json'), 'utf8')) as Json;
  return { pods, nodes, podNotFound };
}

const POD = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/;
const PODS = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/;

function handle(store: Store, req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.authorization !== `Bearer ${FAKE_TOKEN}`) {
    send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    return;
  }
  const url = new URL(req.url ?? '/', 'http://fake');
  if (req.method !== 'GET') {
    send(res, 405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
    return;
  }
  const one = POD.exec(url.pathname);
  if (one) {
    const [, ns = '', name = ''] = one.map(decodeURIComponent);
    const pod = store.pods.get(`${ns}/${name}`);
    send(res, pod ? 200 : 404, pod ?? notFound(store.podNotFound, name));
    return;
  }
  const list = PODS.exec(url.pathname);
  if (list) {
    const ns = decodeURIComponent(list[1] ?? '');
    const selector = url.searchParams.get('labelSelector') ?? '';
    let requirements;
    try {
      requirements = parseLabelSelector(selector);
    } catch (err) {
      send(res, 400, status(400, 'BadRequest', `unable to parse requirement: ${(err as Error).message}`));
      return;
    }
    const items = [...store.pods.entries()]
      .filter(([key]) => key.startsWith(`${ns}/`))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, pod]) => pod)
      .filter((pod) => matchesLabelSelector(requirements, labelsOf(pod)))
      .map(asListItem);
    send(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '2571' }, items });
    return;
  }
  if (url.pathname === '/api/v1/pods') {
    // All namespaces, with the one field selector the inventory sends: spec.nodeName=<node>.
    const field = /^spec\.nodeName=(.+)$/.exec(url.searchParams.get('fieldSelector') ?? '');
    const items = [...store.pods.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, pod]) => pod)
      .filter((pod) => field === null || (pod.spec as { nodeName?: string } | undefined)?.nodeName === field[1])
      .map(asListItem);
    send(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '2571' }, items });
    return;
  }
  if (url.pathname === '/api/v1/nodes') {
    send(res, 200, store.nodes);
    return;
  }
  send(res, 404, { ...status(404, 'NotFound', 'the server could not find the requested resource'), details: {} });
}

// List items carry no kind/apiVersion of their own: the list's apply to them.
function asListItem(pod: Json): Json {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = pod;
  return rest;
}

function labelsOf(pod: Json): Record<string, string> {
  return ((pod.metadata as { labels?: Record<string, string> }).labels ?? {}) as Record<string, string>;
}

/** The recorded 404 body, renamed for the pod asked for. */
function notFound(recorded: Json, name: string): Json {
  return {
    ...recorded,
    message: `pods "${name}" not found`,
    details: { ...(recorded.details as Json), name },
  };
}

function status(code: number, reason: string, message: string): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function send(res: ServerResponse, code: number, body: Json): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake kube API: no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // close() alone would wait for the client's keep-alive (or hung) connections.
  server.closeAllConnections();
  await closed;
}
