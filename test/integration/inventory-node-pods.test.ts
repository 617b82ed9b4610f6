import { describe, expect, it } from 'vitest';
import { CART_7D9F, CART_8X2K, WEB_1 } from '../fixtures/k8s/pods.ts';
import { useFakeKubeInventory } from '../helpers/fake-kube-inventory.ts';

/** The pods of one node, any namespace: what names the cgroups of a node-wide sweep per pod. */
describe('KubernetesInventory.podsOnNode against recorded API responses', () => {
  const kube = useFakeKubeInventory();

  it('lists every pod scheduled on the node with one field-selected request', async () => {
    expect(await kube.inventory.podsOnNode('node-a')).toEqual([CART_7D9F, WEB_1]);
    expect(await kube.inventory.podsOnNode('node-b')).toEqual([CART_8X2K]);
    expect(await kube.inventory.podsOnNode('node-z')).toEqual([]);
    expect(kube.api.requests).toContain('GET /api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a');
  });

  it('refuses a node name that is not one before it reaches the field selector', async () => {
    await expect(kube.inventory.podsOnNode('node-a,metadata.name=x')).rejects.toThrow(/DNS-1123/);
  });
});
