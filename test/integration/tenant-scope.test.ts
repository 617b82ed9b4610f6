import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newInvestigationId } from '../../src/core/ids.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { NodeRegistry } from '../../src/inventory/node-registry.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { InvestigationRecords } from '../../src/records/investigation-records.ts';
import { CaptureJob } from '../../src/queue/jobs.ts';
import { openQueue } from '../../src/queue/open.ts';
import { QUEUES, captureQueue } from '../../src/queue/queues.ts';
import { startFakeKubeApi, type FakeKubeApi } from '../helpers/fake-kube-api.ts';
import { startHookServer, type HookServer } from '../helpers/hook-server.ts';
import { blocksOf, SLACK_SECRET, slashCommand } from '../helpers/slack.ts';
import { testRedisUrl } from '../helpers/services.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/**
 * Namespace-limited identities (a token, a Slack channel rule) reach their namespaces' pods and nothing beside
 * them: a cgroup, a pid or a node next to their pod is refused with 403 naming the field, before anything is
 * recorded, queued, rate-limited or audited; and what is dispatched covers exactly the resolved pods.
 * The fake Kubernetes API knows shop/cart-7d9f and shop/web-1 (node-a) and shop/cart-8x2k (node-b).
 */
let kube: FakeKubeApi;
const redis = createRedis(testRedisUrl());
beforeAll(async () => {
  kube = await startFakeKubeApi();
  process.env.KUBECONFIG = kube.kubeconfig;
});
afterAll(async () => {
  delete process.env.KUBECONFIG;
  await kube?.close();
  await redis.quit();
});

describe('namespace-limited identities name pods, never what is beside them', () => {
  let sys: TestSystem;
  let hook: HookServer;
  let queue: Queue;

  const post = async (target: unknown, token: string) => {
    const res = await fetch(`${sys.url}/v1/investigations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sys.tokens[token]}` },
      body: JSON.stringify({ playbook: 'cpu-profile', target, params: { duration: '1s' } }),
    });
    const json = (await res.json()) as { errors?: { path: string; message: string }[]; detail?: string; id?: string };
    return { status: res.status, contentType: res.headers.get('content-type'), json };
  };
  /** Everything a start leaves behind: records, queued jobs, audit entries of starts. */
  const traces = async () => {
    const ids = ((await sys.get('/v1/investigations?limit=200')).json.items as Investigation[]).map((i) => i.id);
    const jobs = Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0);
    const audit = (await sys.get('/v1/audit?limit=500')).json.items as { action: string }[];
    return { ids, jobs, starts: audit.filter((e) => e.action === 'investigation.start').length };
  };

  beforeAll(async () => {
    hook = await startHookServer();
    sys = await startSystem({
      parts: ['api'],
      // Three starts a minute per requester: the refusals below are many more, so any that counted would show as 429.
      env: { INVENTORY: 'kubernetes', RATE_LIMIT: '3/1m', SLACK_SIGNING_SECRET: SLACK_SECRET, NOTIFY_URL_HOSTS: hook.url },
      tokens: [{ name: 'shop-only', scopes: ['investigations:read', 'investigations:write'], namespaces: ['shop'] }],
      slackRules: [{ channels: ['C0SHOP'], namespaces: ['shop'] }],
    });
    queue = openQueue(QUEUES.investigations, { connection: redis, prefix: sys.config.QUEUE_PREFIX });
  });
  afterAll(async () => {
    await queue?.close();
    await sys?.stop();
    await hook?.close();
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['a cgroup beside its pod', { pod: 'shop/cart-7d9f', cgroup: '/victim' }, ['target.cgroup']],
    ['a pid beside its pod', { pod: 'shop/cart-7d9f', pid: 1 }, ['target.pid']],
    ['a cgroup and a pid beside a selector', { namespace: 'shop', labelSelector: 'app=cart', cgroup: '/victim', pid: 1 }, ['target.cgroup', 'target.pid']],
    ['a cgroup alone', { cgroup: '/victim' }, ['target.cgroup']],
    ['a pid alone', { pid: 1 }, ['target.pid']],
    ['a node alone', { node: 'node-a' }, ['target.node']],
    ["a node other than its pod's", { pod: 'shop/cart-7d9f', node: 'node-b' }, ['target.node']],
    ['a node none of the selected pods runs on', { namespace: 'shop', labelSelector: 'app=web', node: 'node-b' }, ['target.node']],
  ])('refuses %s with 403 problem+json naming the field, leaving no trace', async (_what, target, fields) => {
    const before = await traces();
    const res = await post(target, 'shop-only');
    expect(res.status).toBe(403);
    expect(res.contentType).toBe('application/problem+json');
    expect(res.json.errors?.map((e) => e.path)).toEqual(fields);
    expect(res.json.detail).toMatch(/token:shop-only/);
    expect(await traces()).toEqual(before);
  });

  it('lets it run on its pods, narrowed to a node they run on; refusals did not spend its rate budget', async () => {
    const onNode = await post({ pod: 'shop/cart-7d9f', node: 'node-a' }, 'shop-only');
    expect(onNode.status).toBe(202);
    const oneOfTwo = await post({ namespace: 'shop', labelSelector: 'app=cart', node: 'node-b' }, 'shop-only');
    expect(oneOfTwo.status).toBe(202);
    expect((await post({ pod: 'shop/cart-7d9f' }, 'shop-only')).status).toBe(202);
    expect((await post({ pod: 'shop/cart-7d9f' }, 'shop-only')).status).toBe(429);
  });

  it('refuses an unrestricted identity pods and a cgroup together with 400 naming the cgroup; a pid beside pods narrows', async () => {
    const before = await traces();
    const both = await post({ pod: 'shop/cart-7d9f', cgroup: '/victim' }, 'admin');
    expect(both.status).toBe(400);
    expect(both.json.errors?.map((e) => e.path)).toEqual(['target.cgroup']);
    expect(await traces()).toEqual(before);
    expect((await post({ pod: 'shop/cart-7d9f', pid: 4242 }, 'admin')).status).toBe(202);
    expect((await post({ node: 'node-a', cgroup: '/victim' }, 'admin')).status).toBe(202);
  });

  it('refuses the same from a Slack channel limited to shop, naming the field, and starts nothing', async () => {
    const responseUrl = `${hook.url}/response/1`;
    for (const [extra, field] of [
      ['cgroup=/victim', 'target.cgroup'],
      ['pid=1', 'target.pid'],
      ['node=node-b', 'target.node'],
    ] as const) {
      const before = await traces();
      const res = await slashCommand(sys.url, `profile pod=shop/cart-7d9f ${extra} for=1s`, { channel: 'C0SHOP', user: 'U0BOB', responseUrl });
      expect(res.status).toBe(200);
      const { text } = blocksOf(res.json);
      expect(text).toContain(field);
      expect(text).toMatch(/slack:U0BOB is limited to namespaces shop/);
      expect(text).not.toMatch(/inv_/);
      expect(await traces()).toEqual(before);
    }
    // The same command without the extra field starts (the rule lets the pod through).
    const ok = await slashCommand(sys.url, 'profile pod=shop/cart-7d9f for=1s', { channel: 'C0SHOP', user: 'U0BOB', responseUrl });
    expect(blocksOf(ok.json).text).toMatch(/inv_/);
  });
});

describe("what the orchestrator dispatches covers exactly the target's pods", () => {
  let sys: TestSystem;
  let captures: Queue;
  const registry = () => new NodeRegistry(redis, sys.config.QUEUE_PREFIX);
  /** The capture job dispatched to node-a for an investigation, as the agent will parse it. */
  const dispatched = async (id: string): Promise<CaptureJob> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const jobs = await captures.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
      const job = jobs.find((j) => (j.data as { investigationId?: string }).investigationId === id);
      if (job) return CaptureJob.parse(job.data);
      if (Date.now() > deadline) throw new Error(`nothing dispatched for ${id}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    sys = await startSystem({
      parts: ['api', 'orchestrator'],
      env: { INVENTORY: 'kubernetes' },
      tokens: [{ name: 'shop-only', scopes: ['investigations:read', 'investigations:write'], namespaces: ['shop'] }],
    });
    // A live agent on node-a as far as the orchestrator knows; none consumes the queue, so jobs stay to be read.
    await registry().heartbeat({ name: 'node-a', labels: {}, kernel: '6.1.0', agentVersion: 'test', capabilities: {} }, 120_000);
    captures = openQueue(captureQueue('node-a'), { connection: redis, prefix: sys.config.QUEUE_PREFIX });
  });
  afterAll(async () => {
    await captures?.close();
    await sys?.stop();
  });

  it('scopes a pod target to the pod and nothing else', async () => {
    const res = await sys.post('/v1/investigations', { playbook: 'cpu-profile', target: { pod: 'shop/cart-7d9f' }, params: { duration: '1s' } }, { token: 'shop-only' });
    expect(res.status).toBe(202);
    const job = await dispatched(res.json.id as string);
    expect(Object.keys(job.scope)).toEqual(['pods']);
    expect(job.scope.pods?.map((p) => `${p.namespace}/${p.name}`)).toEqual(['shop/cart-7d9f']);
  });

  it('drops the cgroup of a record from before the rule instead of adding it to the pods', async () => {
    // Written straight to the store, as an older API version could have: the intake refuses this target now.
    const id = newInvestigationId();
    const records = new InvestigationRecords(redis, sys.config.QUEUE_PREFIX);
    await records.create({
      id,
      status: 'queued',
      playbook: 'cpu-profile',
      target: { pod: 'shop/cart-7d9f', cgroup: '/victim', pid: 4242 },
      params: { duration: '1s' },
      createdAt: new Date().toISOString(),
      requestedBy: 'token:shop-only',
      steps: [],
      artifacts: [],
    });
    const investigations = openQueue(QUEUES.investigations, { connection: redis, prefix: sys.config.QUEUE_PREFIX });
    await investigations.add('investigate', { id }, { jobId: id });
    await investigations.close();
    const job = await dispatched(id);
    expect(job.scope.cgroup).toBeUndefined();
    expect(job.scope).toEqual({ pods: [expect.objectContaining({ namespace: 'shop', name: 'cart-7d9f' })], pid: 4242 });
  });
});
