import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistry } from '../../src/inventory/node-registry.ts';
import { StaticInventory } from '../../src/inventory/static.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { resolvePlacements } from '../../workers/orchestrator/placement.ts';
import { useFakeKubeInventory } from '../helpers/fake-kube-inventory.ts';
import { testRedisUrl, uniquePrefix } from '../helpers/services.ts';
import { CART_7D9F, CART_8X2K } from '../fixtures/k8s/pods.ts';

// Placements carry the pods without where and how they run: that is the node's to say.
const placed = ({ node: _node, phase: _phase, ...pod }: typeof CART_7D9F) => pod;

/** resolvePlacements with a real node registry in Redis and real inventories (static; Kubernetes over HTTP). */
describe('resolvePlacements', () => {
  let redis: Redis;
  const kube = useFakeKubeInventory();
  const statik = new StaticInventory([{ name: 'node-a', labels: {} }, { name: 'node-b', labels: {} }]);

  beforeAll(() => {
    redis = createRedis(testRedisUrl());
  });
  afterAll(async () => {
    await redis?.quit();
  });
  /** A registry of its own per test, with these agents alive. */
  const alive = async (...nodes: string[]) => {
    const registry = new NodeRegistry(redis, uniquePrefix('placement'));
    for (const name of nodes) await registry.heartbeat({ name, labels: {}, kernel: '6.1.0', agentVersion: 'test', capabilities: {} }, 60_000);
    return registry;
  };

  it('a node target runs on that node when its agent is alive, and is dead otherwise', async () => {
    const reg = await alive('node-a');
    expect(await resolvePlacements({ node: 'node-a' }, reg, statik)).toEqual({ placements: [{ node: 'node-a', pods: [] }], dead: [] });
    expect(await resolvePlacements({ node: 'node-b', cgroup: '/app' }, reg, statik)).toEqual({ placements: [], dead: ['node-b'] });
    // Without any inventory too: the registry alone decides.
    expect(await resolvePlacements({ node: 'node-a', pid: 42 }, reg, null)).toEqual({ placements: [{ node: 'node-a', pods: [] }], dead: [] });
  });

  it('a cgroup or pid target without a node needs exactly one live agent', async () => {
    expect(await resolvePlacements({ cgroup: '/app' }, await alive('node-b'), null)).toEqual({ placements: [{ node: 'node-b', pods: [] }], dead: [] });
    expect(await resolvePlacements({ pid: 42 }, await alive(), null)).toEqual({ error: 'no node agent is alive' });
    expect(await resolvePlacements({ cgroup: '/app' }, await alive('node-b', 'node-a'), null)).toEqual({
      error: 'the target names no node and 2 agents are alive (node-a, node-b); give target.node',
    });
  });

  it('no target (fleet-wide) runs on every live node, in name order', async () => {
    expect(await resolvePlacements(undefined, await alive('node-c', 'node-a', 'node-b'), statik)).toEqual({
      placements: [{ node: 'node-a', pods: [] }, { node: 'node-b', pods: [] }, { node: 'node-c', pods: [] }],
      dead: [],
    });
    expect(await resolvePlacements(undefined, await alive(), statik)).toEqual({ error: 'no node agent is alive' });
  });

  it('pod, namespace and selector targets are an error with the static inventory or none', async () => {
    const reg = await alive('node-a', 'node-b');
    const error = 'pod, namespace and labelSelector targets need the Kubernetes inventory';
    expect(await resolvePlacements({ pod: 'shop/cart-8x2k' }, reg, statik)).toEqual({ error });
    expect(await resolvePlacements({ namespace: 'shop', labelSelector: 'app=cart' }, reg, statik)).toEqual({ error });
    expect(await resolvePlacements({ namespace: 'shop' }, reg, null)).toEqual({ error });
  });

  it('a pod target runs on its node only, with the pod', async () => {
    expect(await resolvePlacements({ pod: 'shop/cart-8x2k' }, await alive('node-a', 'node-b'), kube.inventory)).toEqual({
      placements: [{ node: 'node-b', pods: [placed(CART_8X2K)] }],
      dead: [],
    });
  });

  it('a label selector spanning nodes runs on each, with that node\'s pods', async () => {
    expect(await resolvePlacements({ namespace: 'shop', labelSelector: 'app=cart' }, await alive('node-a', 'node-b'), kube.inventory)).toEqual({
      placements: [
        { node: 'node-a', pods: [placed(CART_7D9F)] },
        { node: 'node-b', pods: [placed(CART_8X2K)] },
      ],
      dead: [],
    });
  });

  it('nodes running matched pods but no live agent are listed as dead; the others still run', async () => {
    expect(await resolvePlacements({ namespace: 'shop', labelSelector: 'app=cart' }, await alive('node-a'), kube.inventory)).toEqual({
      placements: [{ node: 'node-a', pods: [placed(CART_7D9F)] }],
      dead: ['node-b'],
    });
    expect(await resolvePlacements({ pod: 'shop/cart-8x2k' }, await alive(), kube.inventory)).toEqual({ placements: [], dead: ['node-b'] });
  });

  it('an unknown pod, or pods none of which run, are errors saying so', async () => {
    const reg = await alive('node-a', 'node-b');
    expect(await resolvePlacements({ pod: 'shop/nope' }, reg, kube.inventory)).toEqual({ error: 'pod shop/nope not found' });
    // Scheduled nowhere (Pending, Unschedulable): nothing to trace yet.
    expect(await resolvePlacements({ pod: 'batch/job-1' }, reg, kube.inventory)).toEqual({ error: 'no running pod matches the target' });
    // A selector matching nothing is the inventory's error (a TracehoundError), passed on in its words.
    expect(await resolvePlacements({ namespace: 'shop', labelSelector: 'app=nothing-has-this' }, reg, kube.inventory)).toEqual({
      error: 'no pods match labelSelector "app=nothing-has-this" in namespace shop',
    });
  });
});
