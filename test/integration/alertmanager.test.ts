import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Investigation } from '../../src/core/investigation.ts';
import { startFakeKubeApi, type FakeKubeApi } from '../helpers/fake-kube-api.ts';
import { startHookServer, type HookServer } from '../helpers/hook-server.ts';
import { blocksOf } from '../helpers/slack.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

const FIXTURES = new URL('../fixtures/alertmanager/', import.meta.url);
const BEARER = 'alertmanager-bearer-secret-0123';

/** The documented payloads, with pod names swapped for pods the recorded Kubernetes API knows. */
function payload(name: string): Record<string, unknown> {
  const text = readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')
    .replaceAll('"cart-0"', '"cart-7d9f"')
    .replaceAll('"cart-1"', '"cart-8x2k"')
    .replaceAll('node-17:9100', 'node-a:9100');
  return JSON.parse(text) as Record<string, unknown>;
}

describe('Alertmanager webhook', () => {
  let sys: TestSystem;
  let kube: FakeKubeApi;
  let hook: HookServer;
  const send = async (body: unknown, auth: string | null = `Bearer ${BEARER}`) => {
    const res = await fetch(`${sys.url}/v1/webhooks/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as { started: { id: string; alertname?: string }[]; duplicates: unknown[]; skipped: unknown[]; failed: unknown[] } };
  };
  const fromAlerts = async () =>
    ((await sys.get('/v1/investigations?limit=200')).json.items as Investigation[]).filter((i) => i.requestedBy.startsWith('alertmanager:'));

  beforeAll(async () => {
    kube = await startFakeKubeApi();
    hook = await startHookServer();
    process.env.KUBECONFIG = kube.kubeconfig;
    sys = await startSystem({
      parts: ['api', 'orchestrator'],
      env: {
        INVENTORY: 'kubernetes',
        ALERT_RULES_FILE: new URL('rules.yaml', FIXTURES).pathname,
        ALERTMANAGER_BEARER_TOKEN: BEARER,
        ALERTMANAGER_BASIC_AUTH: 'alertmanager:basic-secret-9',
        NOTIFY_URL_HOSTS: hook.url,
      },
      tokens: [
        { name: 'am-token', scopes: ['alerts:write'] },
        { name: 'reader', scopes: ['investigations:read'] },
        { name: 'writer', scopes: ['investigations:write'] },
      ],
    });
  });
  afterAll(async () => {
    await sys?.stop();
    delete process.env.KUBECONFIG;
    await kube?.close();
    await hook?.close();
  });

  it.each([
    ['no credentials', null],
    ['a wrong bearer token', 'Bearer not-the-token-at-all'],
    ['wrong basic auth', `Basic ${Buffer.from('alertmanager:guess').toString('base64')}`],
  ])('refuses %s with 401 and starts nothing', async (_n, auth) => {
    const res = await send(payload('firing'), auth);
    expect(res.status).toBe(401);
    expect(await fromAlerts()).toEqual([]);
  });

  it.each(['reader', 'writer'])('refuses an API token without alerts:write (%s) with 403, audited, and starts nothing', async (name) => {
    const res = await send(payload('firing'), `Bearer ${sys.tokens[name]}`);
    expect(res.status).toBe(403);
    expect(JSON.stringify(res.json)).toMatch(`token:${name} lacks the alerts:write scope`);
    expect(((await sys.get('/v1/investigations?limit=200')).json.items as unknown[]).length).toBe(0);
    const audit = (await sys.get(`/v1/audit?actor=token:${name}`)).json.items as { action: string; subject: string }[];
    expect(audit).toEqual([expect.objectContaining({ action: 'access.denied', subject: 'POST /v1/webhooks/alertmanager' })]);
  });

  it('refuses a payload of another version with 400', async () => {
    const res = await send({ ...payload('firing'), version: '3' }, `Bearer ${BEARER}`);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.json)).toMatch(/version/);
  });

  it('starts one investigation for a firing alert, and none for its HA duplicate or its resolution', async () => {
    const res = await send(payload('firing'));
    expect(res.status).toBe(200);
    expect(res.json.started).toEqual([expect.objectContaining({ rule: 'pod-disk-full', alertname: 'KubePersistentVolumeFillingUp', id: expect.stringMatching(/^inv_/) })]);
    const id = res.json.started[0]!.id;
    const inv = (await sys.get(`/v1/investigations/${id}`)).json as unknown as Investigation;
    // The credential, not the payload's receiver ("tracehound"), is who asked.
    expect(inv).toMatchObject({ playbook: 'enospc', target: { pod: 'shop/cart-7d9f' }, params: { duration: '10s' }, requestedBy: 'alertmanager:bearer' });
    expect(inv.symptom).toMatch(/^KubePersistentVolumeFillingUp on shop\/cart-7d9f/);

    // The second Alertmanager of an HA pair sends the same notification (basic auth this time).
    const dup = await send(payload('ha-duplicate'), `Basic ${Buffer.from('alertmanager:basic-secret-9').toString('base64')}`);
    expect(dup.json).toMatchObject({ started: [], duplicates: [expect.objectContaining({ alertname: 'KubePersistentVolumeFillingUp' })] });
    // A retried delivery (at-least-once) likewise.
    expect((await send(payload('firing'), `Bearer ${sys.tokens['am-token']}`)).json.started).toEqual([]);

    const resolved = await send(payload('resolved'));
    expect(resolved.json.started).toEqual([]);
    expect(resolved.json.skipped).toEqual([expect.objectContaining({ reason: expect.stringMatching(/resolved/) })]);
    expect((await fromAlerts()).map((i) => i.id)).toEqual([id]);

    // The same alert firing again later is a new occurrence (new startsAt): a new investigation.
    const again = payload('firing');
    (again.alerts as { startsAt: string }[])[0]!.startsAt = new Date().toISOString();
    expect((await send(again)).json.started).toHaveLength(1);
  });

  it('handles a group: firing pods start, the resolved one and unmapped alerts are skipped, unknown pods fail alone', async () => {
    const res = await send(payload('grouped'));
    expect(res.status).toBe(200);
    const started = res.json.started;
    const failed = res.json.failed as { status: number; reason: string }[];
    const skipped = res.json.skipped as { reason: string }[];
    // cart-1 (now cart-8x2k) is known; orders-0 is not in the recorded API: 404 for that alert only.
    expect(started).toEqual([expect.objectContaining({ alertname: 'MountFailures' })]);
    expect(failed).toEqual([expect.objectContaining({ alertname: 'KubePersistentVolumeFillingUp', status: 404 })]);
    expect(skipped.length).toBe(2);
    // The unknown pod was not remembered as handled: a later delivery tries again.
    const retry = await send(payload('grouped'));
    expect(retry.json.duplicates).toHaveLength(1);
    expect(retry.json.failed).toHaveLength(1);
  });

  it('targets the node from the instance label', async () => {
    const res = await send(payload('node-firing'));
    expect(res.json.started).toEqual([expect.objectContaining({ rule: 'node-cpu' })]);
    const inv = (await sys.get(`/v1/investigations/${res.json.started[0]!.id}`)).json;
    expect(inv).toMatchObject({ playbook: 'cpu-profile', target: { node: 'node-a' } });
  });

  it('records each delivery in the audit trail under the credential, the receiver in the detail only', async () => {
    const audit = await sys.get('/v1/audit?actor=alertmanager:bearer&limit=500');
    const items = audit.json.items as { action: string; detail: { receiver?: string } }[];
    expect(new Set(items.map((e) => e.action))).toEqual(new Set(['alert.receive', 'investigation.start']));
    expect(items.every((e) => e.detail.receiver === 'tracehound')).toBe(true);
    const basic = (await sys.get('/v1/audit?actor=alertmanager:basic:alertmanager')).json.items as { action: string }[];
    expect(basic.map((e) => e.action)).toEqual(['alert.receive']);
    expect(((await sys.get('/v1/audit?actor=alertmanager:tracehound')).json.items as unknown[]).length).toBe(0);
  });
});

/** A new occurrence of a fixture's alerts (a later startsAt), so earlier deliveries do not make it a duplicate. */
function occurrence(name: string, receiver?: string): Record<string, unknown> {
  const body = payload(name);
  const startsAt = new Date(Date.now() - Math.floor(Math.random() * 1e9)).toISOString();
  for (const a of body.alerts as { startsAt: string }[]) a.startsAt = startsAt;
  return receiver === undefined ? body : { ...body, receiver };
}

describe('Alertmanager credentials and their limits', () => {
  let sys: TestSystem;
  let kube: FakeKubeApi;
  type Failed = { alertname?: string; status: number; reason: string };
  const send = async (body: unknown, auth: string) => {
    const res = await fetch(`${sys.url}/v1/webhooks/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: auth },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as { started: { id: string; alertname?: string }[]; failed: Failed[] } };
  };
  const token = (name: string) => `Bearer ${sys.tokens[name]}`;
  const basic = `Basic ${Buffer.from('am-replica:basic-secret-9').toString('base64')}`;
  const requestedBy = async (id: string) => ((await sys.get(`/v1/investigations/${id}`)).json as unknown as Investigation).requestedBy;

  beforeAll(async () => {
    kube = await startFakeKubeApi();
    process.env.KUBECONFIG = kube.kubeconfig;
    sys = await startSystem({
      parts: ['api'],
      env: {
        INVENTORY: 'kubernetes',
        ALERT_RULES_FILE: new URL('rules.yaml', FIXTURES).pathname,
        ALERTMANAGER_BEARER_TOKEN: BEARER,
        ALERTMANAGER_BASIC_AUTH: 'am-replica:basic-secret-9',
        // One start a minute per requester: whose budget a delivery spends shows at once.
        RATE_LIMIT: '1/1m',
      },
      tokens: [
        { name: 'shop-alerts', scopes: ['alerts:write'], namespaces: ['shop'] },
        { name: 'batch-alerts', scopes: ['alerts:write'], namespaces: ['batch'] },
        { name: 'profiles-alerts', scopes: ['alerts:write'], playbooks: ['cpu-profile'] },
      ],
    });
  });
  afterAll(async () => {
    await sys?.stop();
    delete process.env.KUBECONFIG;
    await kube?.close();
  });

  it("runs as the credential whatever the payload's receiver says, and spends the credential's rate budget", async () => {
    const first = await send(occurrence('firing', 'team-a'), `Bearer ${BEARER}`);
    expect(first.json.started).toHaveLength(1);
    expect(await requestedBy(first.json.started[0]!.id)).toBe('alertmanager:bearer');
    // Another receiver name is not another requester: the same bearer's budget is used up.
    const second = await send(occurrence('node-firing', 'team-b'), `Bearer ${BEARER}`);
    expect(second.json.started).toEqual([]);
    expect(second.json.failed).toEqual([expect.objectContaining({ status: 429, reason: expect.stringMatching(/^alertmanager:bearer started 1/) })]);
    // Basic auth is its own credential, named by its user.
    const viaBasic = await send(occurrence('node-firing', 'team-b'), basic);
    expect(viaBasic.json.started).toHaveLength(1);
    expect(await requestedBy(viaBasic.json.started[0]!.id)).toBe('alertmanager:basic:am-replica');
    const audit = (await sys.get('/v1/audit?actor=alertmanager:bearer')).json.items as { action: string; detail: { receiver?: string } }[];
    expect(audit.filter((e) => e.action === 'alert.receive').map((e) => e.detail.receiver)).toEqual(['team-b', 'team-a']);
    expect(((await sys.get('/v1/audit?actor=alertmanager:team-b')).json.items as unknown[]).length).toBe(0);
  });

  it("authorizes each alert against a namespace-limited token's namespaces; the others fail with 403", async () => {
    const other = await send(occurrence('grouped'), token('batch-alerts'));
    expect(other.status).toBe(200);
    expect(other.json.started).toEqual([]);
    expect(other.json.failed).toEqual([
      expect.objectContaining({ alertname: 'MountFailures', status: 403, reason: expect.stringMatching(/token:batch-alerts is limited to namespaces batch.*target\.pod/) }),
      expect.objectContaining({ alertname: 'KubePersistentVolumeFillingUp', status: 403 }),
    ]);
    const node = await send(occurrence('node-firing'), token('shop-alerts'));
    expect(node.json.failed).toEqual([expect.objectContaining({ status: 403, reason: expect.stringMatching(/target\.node/) })]);

    const own = await send(occurrence('grouped'), token('shop-alerts'));
    expect(own.json.started).toEqual([expect.objectContaining({ alertname: 'MountFailures' })]);
    expect(await requestedBy(own.json.started[0]!.id)).toBe('token:shop-alerts');
    // orders-0 is in shop, so authorized, and then unknown to the Kubernetes API.
    expect(own.json.failed).toEqual([expect.objectContaining({ alertname: 'KubePersistentVolumeFillingUp', status: 404 })]);
    const audit = (await sys.get('/v1/audit?actor=token:shop-alerts')).json.items as { action: string }[];
    expect(audit.map((e) => e.action).sort()).toEqual(['alert.receive', 'alert.receive', 'investigation.start']);
  });

  it("holds a token's playbook limits", async () => {
    const enospc = await send(occurrence('firing'), token('profiles-alerts'));
    expect(enospc.json.failed).toEqual([expect.objectContaining({ status: 403, reason: expect.stringMatching(/may not run playbook enospc/) })]);
    const profile = await send(occurrence('node-firing'), token('profiles-alerts'));
    expect(profile.json.started).toHaveLength(1);
    expect(await requestedBy(profile.json.started[0]!.id)).toBe('token:profiles-alerts');
  });
});

describe('Alertmanager results to Slack', () => {
  let sys: TestSystem;
  let hook: HookServer;

  beforeAll(async () => {
    hook = await startHookServer();
    sys = await startSystem({
      parts: ['api', 'orchestrator'],
      env: {
        ALERT_RULES_FILE: new URL('rules.yaml', FIXTURES).pathname,
        ALERTMANAGER_BEARER_TOKEN: BEARER,
        ALERT_SLACK_WEBHOOK_URL: `${hook.url}/services/T0/B0/xyz`,
        NOTIFY_URL_HOSTS: hook.url,
      },
    });
  });
  afterAll(async () => {
    await sys?.stop();
    await hook?.close();
  });

  it('posts the finished investigation to the configured incoming webhook', async () => {
    // No agent runs on "test-node": the investigation fails fast, which is still a result worth posting.
    const body = payload('node-firing');
    (body.alerts as { labels: Record<string, string> }[])[0]!.labels.instance = 'test-node:9100';
    const res = await fetch(`${sys.url}/v1/webhooks/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${BEARER}` },
      body: JSON.stringify(body),
    });
    const id = (((await res.json()) as { started: { id: string }[] }).started[0]!).id;
    await sys.waitFor(id);
    const [message] = await hook.waitFor(1, '/services/T0/B0/xyz');
    const { blocks, text } = blocksOf(message);
    expect(blocks[0]!.type).toBe('header');
    expect(text).toContain(id);
    expect(text).toMatch(/alertmanager:tracehound|alertmanager/);
  });
});
