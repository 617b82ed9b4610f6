import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NotFoundError, ServiceUnavailableError, ValidationError } from '../../src/core/errors.ts';
import { DEFAULT_KUBE_TIMEOUT_MS, KubernetesInventory } from '../../src/inventory/kubernetes.ts';
import { FAKE_TOKEN, startFakeKubeApi, startUnresponsiveServer } from '../helpers/fake-kube-api.ts';
import { useFakeKubeInventory } from '../helpers/fake-kube-inventory.ts';
import { rejection } from '../helpers/rejection.ts';

import { CART_7D9F, CART_8X2K, WEB_1 } from '../fixtures/k8s/pods.ts';

const JOB_1 = {
  namespace: 'batch',
  name: 'job-1',
  uid: '7fe48837-056c-4922-9eaa-c4ba4a699f49',
  node: null,
  phase: 'Pending',
  qosClass: 'BestEffort',
  containers: [{ name: 'cilium-operator', id: null }],
};

describe('KubernetesInventory against recorded API responses', () => {
  const kube = useFakeKubeInventory();

  it('resolves a pod to its node, uid, QoS class and container ids', async () => {
    expect(await kube.inventory.resolve({ pod: 'shop/cart-7d9f' })).toEqual({ nodes: ['node-a'], pods: [CART_7D9F] });
    expect(kube.api.requests).toContain('GET /api/v1/namespaces/shop/pods/cart-7d9f');
  });

  it('reports a Guaranteed pod', async () => {
    expect(await kube.inventory.resolve({ pod: 'shop/web-1' })).toEqual({ nodes: ['node-a'], pods: [WEB_1] });
  });

  it('answers an unknown pod with NotFoundError naming it', async () => {
    const err = await rejection(kube.inventory.resolve({ pod: 'shop/nope' }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe('pod shop/nope not found');
  });

  it('resolves a selector to its pods on two nodes, nodes sorted', async () => {
    expect(await kube.inventory.resolve({ namespace: 'shop', labelSelector: 'app=cart' })).toEqual({
      nodes: ['node-a', 'node-b'],
      pods: [CART_7D9F, CART_8X2K],
    });
    // The selector travels to the API server rather than being applied to a full listing.
    expect(kube.api.requests).toContain('GET /api/v1/namespaces/shop/pods?labelSelector=app%3Dcart');
  });

  it('keeps only the pods on the target node when a node is given with a selector', async () => {
    expect(await kube.inventory.resolve({ namespace: 'shop', labelSelector: 'app=cart', node: 'node-b' })).toEqual({
      nodes: ['node-b'],
      pods: [CART_8X2K],
    });
  });

  it('lists every pod of a namespace when no selector is given', async () => {
    expect(await kube.inventory.resolve({ namespace: 'shop' })).toEqual({
      nodes: ['node-a', 'node-b'],
      pods: [CART_7D9F, CART_8X2K, WEB_1],
    });
  });

  it('reports a Pending pod that is not scheduled, without a node', async () => {
    expect(await kube.inventory.resolve({ pod: 'batch/job-1' })).toEqual({ nodes: [], pods: [JOB_1] });
    expect(await kube.inventory.resolve({ namespace: 'batch' })).toEqual({ nodes: [], pods: [JOB_1] });
  });

  it.each([
    ['app in (cart,web),pod-template-hash', ['web-1']],
    ['app notin (cart)', ['web-1']],
    ['app!=cart', ['web-1']],
    ['!pod-template-hash', ['cart-7d9f', 'cart-8x2k']],
    ['ray.io/node-type==head', ['cart-8x2k']],
    ['app=cart, controller-revision-hash', ['cart-7d9f']],
  ])('applies the set-based selector %s', async (labelSelector, names) => {
    const { pods } = await kube.inventory.resolve({ namespace: 'shop', labelSelector });
    expect(pods.map((p) => p.name)).toEqual(names);
  });

  it('answers a selector that matches nothing with NotFoundError naming selector and namespace', async () => {
    const err = await rejection(kube.inventory.resolve({ namespace: 'shop', labelSelector: 'app=nope' }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe('no pods match labelSelector "app=nope" in namespace shop');
  });

  it('answers a selector whose pods are all on other nodes with NotFoundError naming the node', async () => {
    const err = await rejection(kube.inventory.resolve({ namespace: 'shop', labelSelector: 'app=web', node: 'node-b' }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe('no pods match labelSelector "app=web" in namespace shop on node node-b');
  });

  it('answers a pod on another node than the target node with NotFoundError', async () => {
    const err = await rejection(kube.inventory.resolve({ pod: 'shop/cart-7d9f', node: 'node-b' }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe('pod shop/cart-7d9f is not on node node-b (it is on node-a)');
  });

  it('refuses a malformed selector with a ValidationError on target.labelSelector, before asking the API', async () => {
    const before = kube.api.requests.length;
    const err = await rejection(kube.inventory.resolve({ namespace: 'shop', labelSelector: 'app in (cart' }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).errors[0]?.path).toBe('target.labelSelector');
    expect(err.message).toContain('value set is not closed');
    expect(kube.api.requests.length).toBe(before);
  });

  it('refuses contradicting pod and namespace', async () => {
    const err = await rejection(kube.inventory.resolve({ pod: 'shop/web-1', namespace: 'batch' }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).errors[0]?.path).toBe('target.namespace');
  });

  it('passes node, cgroup and pid targets through without asking the API', async () => {
    const before = kube.api.requests.length;
    expect(await kube.inventory.resolve({ node: 'node-z' })).toEqual({ nodes: ['node-z'], pods: [] });
    expect(await kube.inventory.resolve({ node: 'node-a', cgroup: '/kubepods/pod1', pid: 42 })).toEqual({ nodes: ['node-a'], pods: [] });
    expect(await kube.inventory.resolve({ pid: 42 })).toEqual({ nodes: [], pods: [] });
    expect(kube.api.requests.length).toBe(before);
  });

  it('lists the nodes with their labels', async () => {
    const nodes = await kube.inventory.nodes();
    expect(nodes.map((n) => n.name)).toEqual(['node-a', 'node-b']);
    expect(nodes[0]?.labels['topology.kubernetes.io/zone']).toBe('us-east-1a');
    expect(nodes[1]?.labels['kubernetes.io/hostname']).toBe('node-b');
  });

  it('reports a refusal by the API server (wrong token) as ServiceUnavailableError with the status', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tracehound-kube-'));
    try {
      const config = join(dir, 'config');
      await writeFile(config, (await readFile(kube.api.kubeconfig, 'utf8')).replace(FAKE_TOKEN, 'wrong-token'), 'utf8');
      const err = await rejection(KubernetesInventory.fromKubeconfigFile(config).nodes());
      expect(err).toBeInstanceOf(ServiceUnavailableError);
      expect(err.message).toBe(`Kubernetes API ${kube.api.url} refused to list nodes: 401 Unauthorized`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('finds the kubeconfig through KUBECONFIG, and gives null when there is none', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tracehound-home-'));
    try {
      const found = KubernetesInventory.fromEnvironment({ KUBECONFIG: `${join(home, 'missing')}:${kube.api.kubeconfig}`, HOME: home });
      expect(found?.server).toBe(kube.api.url);
      expect(await found?.resolve({ pod: 'shop/web-1' })).toEqual({ nodes: ['node-a'], pods: [WEB_1] });
      expect(KubernetesInventory.fromEnvironment({ HOME: home })).toBeNull();
      expect(KubernetesInventory.fromEnvironment({ KUBECONFIG: join(home, 'missing'), HOME: home })).toBeNull();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('KubernetesInventory when the API server is unavailable', () => {
  it('fails fast with ServiceUnavailableError when nothing listens', async () => {
    const api = await startFakeKubeApi();
    const inventory = KubernetesInventory.fromKubeconfigFile(api.kubeconfig);
    await api.close();
    const started = Date.now();
    const err = await rejection(inventory.resolve({ pod: 'shop/cart-7d9f' }));
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect(err.message).toContain(`Kubernetes API ${api.url} unreachable (get pod shop/cart-7d9f)`);
    expect(err.message).toContain('ECONNREFUSED');
    expect(Date.now() - started).toBeLessThan(DEFAULT_KUBE_TIMEOUT_MS);
  });

  it('gives up on a server that does not answer after the configured timeout', async () => {
    const hung = await startUnresponsiveServer();
    try {
      const inventory = KubernetesInventory.fromKubeconfigFile(hung.kubeconfig, { timeoutMs: 300 });
      const started = Date.now();
      const err = await rejection(inventory.nodes());
      const elapsed = Date.now() - started;
      expect(err).toBeInstanceOf(ServiceUnavailableError);
      expect(err.message).toBe(`Kubernetes API ${hung.url} did not answer "list nodes" within 300 ms`);
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(3_000);
    } finally {
      await hung.close();
    }
  });

  it('gives up after 5 s by default', async () => {
    const hung = await startUnresponsiveServer();
    try {
      const inventory = KubernetesInventory.fromKubeconfigFile(hung.kubeconfig);
      const started = Date.now();
      const err = await rejection(inventory.resolve({ namespace: 'shop', labelSelector: 'app=cart' }));
      const elapsed = Date.now() - started;
      expect(err).toBeInstanceOf(ServiceUnavailableError);
      expect(err.message).toContain('within 5000 ms');
      expect(elapsed).toBeGreaterThanOrEqual(4_900);
      expect(elapsed).toBeLessThan(8_000);
    } finally {
      await hung.close();
    }
  });
});
