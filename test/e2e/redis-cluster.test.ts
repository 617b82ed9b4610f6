/**
 * tracehound on a Redis Cluster (REDIS_CLUSTER=true), the protocol ElastiCache Serverless and MemoryDB speak: a
 * whole investigation — API, queue, orchestrator, a real agent's capture, records, artifacts — through a two-node
 * cluster whose entry node owns no slot, every key in QUEUE_PREFIX's hash tag on the other.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { createBurnerCgroup, type BurnerCgroup } from '../helpers/burner.ts';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.ts';
import { describeSteps } from '../helpers/steps.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

const PREFIX = '{th-cluster}';

describe.skipIf(skipBpf)(bpfSuiteName('an investigation through Redis Cluster'), () => {
  let cluster: TestRedisCluster;
  let sys: TestSystem;
  let burn: BurnerCgroup;

  beforeAll(async () => {
    assertBpf();
    cluster = await startRedisCluster();
    burn = createBurnerCgroup('cluster');
    sys = await startSystem({ env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', QUEUE_PREFIX: PREFIX } });
  });
  afterAll(async () => {
    burn?.remove();
    await sys?.stop();
    await cluster?.stop();
  });

  it('is a cluster a standalone client cannot use: its first command is redirected', async () => {
    const plain = new Redis(cluster.url);
    try {
      await expect(plain.set(`${PREFIX}probe`, '1')).rejects.toThrow(/MOVED/);
    } finally {
      plain.disconnect();
    }
  });

  it('runs a cpu-profile from request to summary, with every key in one hash slot', async () => {
    burn.start();
    const res = await sys.post('/v1/investigations', { playbook: 'cpu-profile', target: { cgroup: burn.cg.path }, params: { duration: '2s', hz: 199 } });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    const inv = await sys.waitFor(res.json.id as string);
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    expect(inv.summary?.headline).toMatch(/crunch_alpha/);
    const svg = await sys.get(`/v1/investigations/${inv.id}/artifacts/cpu/test-node/flamegraph.svg`);
    expect(svg.status).toBe(200);

    // The records, the queue and the node registry all live on the cluster, in the prefix's slot.
    const client = new Cluster([new URL(cluster.url)].map((u) => ({ host: u.hostname, port: Number(u.port) })));
    try {
      const keys = (await client.keys('*')) as string[];
      expect(keys.length).toBeGreaterThan(5);
      expect(keys.filter((k) => !k.startsWith(PREFIX))).toEqual([]);
      expect(new Set(await Promise.all(keys.slice(0, 50).map((k) => client.call('CLUSTER', 'KEYSLOT', k)))).size).toBe(1);
      expect(keys.some((k) => k.includes(inv.id))).toBe(true);
    } finally {
      client.disconnect();
    }
    const list = await sys.get('/v1/investigations');
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.json)).toContain(inv.id);
  });
});
