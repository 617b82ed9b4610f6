import { afterAll, beforeAll } from 'vitest';
import { KubernetesInventory } from '../../src/inventory/kubernetes.ts';
import { startFakeKubeApi, type FakeKubeApi } from './fake-kube-api.ts';

export interface FakeKubeInventory {
  /** The fake API server: its url, kubeconfig and the requests it served. */
  readonly api: FakeKubeApi;
  /** A KubernetesInventory reading the server's kubeconfig, as the service would. */
  readonly inventory: KubernetesInventory;
}

/**
 * For a describe block: the fake kube-apiserver (test/fixtures/k8s) started before its tests and closed after them,
 * and an inventory pointed at it. Call it in the describe body; read `api` and `inventory` inside tests and hooks
 * (they exist from the block's beforeAll on, and reading one earlier says so).
 */
export function useFakeKubeInventory(): FakeKubeInventory {
  let started: FakeKubeInventory | undefined;
  beforeAll(async () => {
    const api = await startFakeKubeApi();
    started = { api, inventory: KubernetesInventory.fromKubeconfigFile(api.kubeconfig) };
  });
  afterAll(async () => {
    await started?.api.close();
  });
  const get = (): FakeKubeInventory => {
    if (!started) throw new Error('useFakeKubeInventory: the fake API server starts in beforeAll; read it inside a test or a later hook');
    return started;
  };
  return {
    get api() {
      return get().api;
    },
    get inventory() {
      return get().inventory;
    },
  };
}
