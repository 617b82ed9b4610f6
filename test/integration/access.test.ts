import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_POLICY, accessFor } from '../../src/api/access-policy.ts';
import type { Scope } from '../../src/auth/identity.ts';
import { signPath } from '../../src/auth/signed-links.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { openQueue } from '../../src/queue/open.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { testRedisUrl } from '../helpers/services.ts';
import { startSystem, TEST_LINK_SECRET, type TestSystem } from '../helpers/system.ts';

const ALL: Scope[] = ['investigations:read', 'investigations:write', 'schedules:write', 'alerts:write'];

/**
 * What every route must demand. Written out here, apart from the policy table in src, so that a route added
 * without an entry, or an entry changed by mistake, fails this test.
 */
const EXPECTED: Record<string, 'public' | 'slack' | 'alertmanager' | Scope> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /openapi.json': 'public',
  'GET /metrics': 'public',
  'POST /v1/investigations': 'investigations:write',
  'GET /v1/investigations': 'investigations:read',
  'GET /v1/investigations/:id': 'investigations:read',
  'GET /v1/investigations/:id/artifacts/*': 'investigations:read',
  'GET /v1/investigations/:id/report': 'investigations:read',
  'GET /v1/investigations/:id/events': 'investigations:read',
  'GET /v1/investigations/:id/diff/:otherId': 'investigations:read',
  'POST /v1/investigations/:id/cancel': 'investigations:write',
  'GET /v1/playbooks': 'investigations:read',
  'GET /v1/playbooks/:name': 'investigations:read',
  'GET /v1/nodes': 'investigations:read',
  'POST /v1/schedules': 'schedules:write',
  'GET /v1/schedules': 'investigations:read',
  'DELETE /v1/schedules/:name': 'schedules:write',
  'GET /v1/audit': 'admin',
  'POST /v1/chatops/slack/commands': 'slack',
  'POST /v1/slack/events': 'slack',
  'POST /v1/chatops/slack/interactions': 'slack',
  'POST /v1/webhooks/alertmanager': 'alertmanager',
  // Each MCP tool call is then checked as the API route it makes (test/integration/mcp.test.ts).
  'POST /mcp': 'investigations:read',
  'GET /mcp': 'investigations:read',
};

describe('API tokens and scopes', () => {
  let sys: TestSystem;
  let invId = '';
  const call = async (method: string, path: string, token: string | null) => {
    const res = await fetch(`${sys.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(method === 'POST' ? { body: '{}' } : {}),
    });
    // An event stream stays open while the investigation runs: the status line is the answer here.
    if (res.headers.get('content-type')?.startsWith('text/event-stream')) await res.body?.cancel();
    else await res.arrayBuffer();
    return res;
  };

  beforeAll(async () => {
    sys = await startSystem({
      parts: ['api'],
      tokens: [
        { name: 'reader', scopes: ['investigations:read'] },
        { name: 'writer', scopes: ['investigations:write'] },
        { name: 'scheduler', scopes: ['schedules:write'] },
        { name: 'not-read', scopes: ['investigations:write', 'schedules:write'] },
        { name: 'not-write', scopes: ['investigations:read', 'schedules:write'] },
        { name: 'not-schedules', scopes: ['investigations:read', 'investigations:write'] },
        // alerts:write opens the Alertmanager webhook, which checks it itself (test/integration/alertmanager.test.ts).
        { name: 'alerter', scopes: ['alerts:write'] },
        { name: 'not-alerts', scopes: ['investigations:read', 'investigations:write', 'schedules:write'] },
        { name: 'not-admin', scopes: ALL },
        { name: 'shop-only', scopes: ['investigations:read', 'investigations:write'], namespaces: ['shop'] },
        { name: 'profiles-only', scopes: ['investigations:read', 'investigations:write'], playbooks: ['cpu-profile'] },
      ],
    });
    const res = await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' } });
    expect(res.status).toBe(202);
    invId = res.json.id as string;
  });
  afterAll(async () => {
    await sys?.stop();
  });

  const concrete = (path: string) =>
    path.replace(':id', invId).replace(':otherId', invId).replace('*', 'errors/test-node/result.json').replace(':name', 'enospc');
  const tokenFor: Record<Scope, string> = { 'investigations:read': 'reader', 'investigations:write': 'writer', 'schedules:write': 'scheduler', 'alerts:write': 'alerter', admin: 'admin' };
  const tokenLacking: Record<Scope, string> = {
    'investigations:read': 'not-read',
    'investigations:write': 'not-write',
    'schedules:write': 'not-schedules',
    'alerts:write': 'not-alerts',
    admin: 'not-admin',
  };

  it('knows the access of every registered route, and the policy table agrees', () => {
    const registered = sys.routes.map((r) => `${r.method} ${r.path}`).sort();
    expect(registered).toEqual(Object.keys(EXPECTED).sort());
    for (const [route, access] of Object.entries(EXPECTED)) {
      const [method, path] = route.split(' ') as [string, string];
      expect(accessFor(method, concrete(path)), route).toBe(access);
    }
    expect(ACCESS_POLICY.length).toBe(Object.keys(EXPECTED).length);
    // Anything unlisted needs admin: forgetting an entry fails closed.
    expect(accessFor('GET', '/v1/something-new')).toBe('admin');
  });

  it.each(Object.entries(EXPECTED))('%s enforces %s', async (route, access) => {
    const [method, pattern] = route.split(' ') as [string, string];
    const path = concrete(pattern);
    if (access === 'public') {
      expect((await call(method, path, null)).status).toBeLessThan(400);
      return;
    }
    if (access === 'slack' || access === 'alertmanager') {
      // Their own credentials (signature, webhook secret): an API token alone does not open the Slack endpoint.
      expect([401, 503]).toContain((await call(method, path, null)).status);
      if (access === 'slack') expect((await call(method, path, sys.tokens.admin!)).status).toBe(401);
      return;
    }
    const none = await call(method, path, null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await call(method, path, 'th_not-a-real-token')).status).toBe(401);
    expect((await call(method, path, sys.tokens[tokenLacking[access]]!)).status).toBe(403);
    const ok = await call(method, path, sys.tokens[tokenFor[access]]!);
    expect([401, 403]).not.toContain(ok.status);
    // admin holds every scope (a repeated cancel is a 409, still past authorization).
    expect([ok.status, 409]).toContain((await call(method, path, sys.tokens.admin!)).status);
  });

  it('records the token name as requestedBy and in the audit trail', async () => {
    const res = await sys.post('/v1/investigations', { playbook: 'cpu-profile', target: { node: 'test-node' } }, { token: 'writer' });
    expect(res.status).toBe(202);
    const inv = await sys.get(`/v1/investigations/${res.json.id}`, { token: 'reader' });
    expect(inv.json.requestedBy).toBe('token:writer');
    const cancel = await sys.post(`/v1/investigations/${res.json.id}/cancel`, {}, { token: 'writer' });
    expect(cancel.status).toBe(202);
    const audit = await sys.get(`/v1/audit?subject=${res.json.id}`);
    const entries = (audit.json.items as { actor: string; action: string }[]).map((e) => `${e.actor} ${e.action}`);
    expect(entries).toEqual(['token:writer investigation.cancel', 'token:writer investigation.start']);
    expect((await sys.get('/v1/audit', { token: 'reader' })).status).toBe(403);
    const denied = await sys.get('/v1/audit?actor=token:reader');
    expect((denied.json.items as { action: string; subject: string }[]).some((e) => e.action === 'access.denied' && e.subject === 'GET /v1/audit')).toBe(true);
  });

  it('limits namespace-scoped tokens to their namespaces, for starting and for reading', async () => {
    const node = await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' } }, { token: 'shop-only' });
    expect(node.status).toBe(403);
    expect(node.json.detail).toMatch(/limited to namespaces shop/);
    const other = await sys.post('/v1/investigations', { playbook: 'enospc', target: { pod: 'payments/api-1' } }, { token: 'shop-only' });
    expect(other.status).toBe(403);
    // Authorized; then refused only because this server has no Kubernetes inventory.
    const own = await sys.post('/v1/investigations', { playbook: 'enospc', target: { pod: 'shop/cart-7d9f' } }, { token: 'shop-only' });
    expect(own.status).toBe(422);
    expect((await sys.get(`/v1/investigations/${invId}`, { token: 'shop-only' })).status).toBe(404);
    const list = await sys.get('/v1/investigations?limit=200', { token: 'shop-only' });
    expect((list.json.items as { id: string }[]).map((i) => i.id)).not.toContain(invId);
    expect((await sys.get('/v1/investigations?limit=200', { token: 'reader' })).json.items).toEqual(expect.arrayContaining([expect.objectContaining({ id: invId })]));
  });

  it('limits playbook-scoped tokens to their playbooks', async () => {
    const res = await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' } }, { token: 'profiles-only' });
    expect(res.status).toBe(403);
    expect(res.json.detail).toMatch(/may not run playbook enospc/);
  });

  it('honours signed links for GET of a report or artifact only, until they expire', async () => {
    const now = Math.floor(Date.now() / 1000);
    const artifact = `/v1/investigations/${invId}/artifacts/errors/test-node/result.json`;
    const signed = signPath(TEST_LINK_SECRET, artifact, now + 60);
    // Authenticated (the artifact does not exist yet: 404, not 401).
    expect((await call('GET', signed, null)).status).toBe(404);
    // One character of the signature changed (to one it is not already).
    expect((await call('GET', signed.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`), null)).status).toBe(401);
    expect((await call('GET', signed.replace(`exp=${now + 60}`, `exp=${now + 6000}`), null)).status).toBe(401);
    expect((await call('GET', signPath(TEST_LINK_SECRET, artifact, now - 1), null)).status).toBe(401);
    expect((await call('GET', signPath('another-secret-another-secret-12345', artifact, now + 60), null)).status).toBe(401);
    // The same signature does not open another path.
    const query = signed.slice(signed.indexOf('?'));
    expect((await call('GET', `/v1/investigations/${invId}${query}`, null)).status).toBe(401);
    expect((await call('POST', `/v1/investigations/${invId}/cancel${query}`, null)).status).toBe(401);
  });
});

describe('rate and capture limits', () => {
  let sys: TestSystem;
  let queue: Queue;
  const redis = createRedis(testRedisUrl());
  const queued = async () => (await queue.getJobCounts('waiting')).waiting ?? 0;

  beforeAll(async () => {
    sys = await startSystem({
      parts: ['api'],
      env: { RATE_LIMIT: '2/1m', CAPTURE_MAX_DURATION: '20s', CAPTURE_MAX_HZ: '200' },
      tokens: [{ name: 'other', scopes: ['investigations:write'] }],
    });
    queue = openQueue(QUEUES.investigations, { connection: redis, prefix: sys.config.QUEUE_PREFIX });
  });
  afterAll(async () => {
    await queue?.close();
    await redis.quit();
    await sys?.stop();
  });

  it('refuses durations and sampling rates over the server limits, naming the field', async () => {
    const long = await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' }, params: { duration: '30s' } });
    expect(long.status).toBe(400);
    expect(long.json.errors).toEqual([{ path: 'params.duration', message: 'at most 20s on this server' }]);
    const hz = await sys.post('/v1/investigations', { playbook: 'cpu-profile', target: { node: 'test-node' }, params: { hz: 499 } });
    expect(hz.status).toBe(400);
    expect(hz.json.errors).toEqual([{ path: 'params.hz', message: 'at most 200 Hz on this server' }]);
    expect(await queued()).toBe(0);
  });

  it('answers 429 with Retry-After once a requester used its budget, and queues nothing more', async () => {
    for (let i = 0; i < 2; i++) expect((await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' } })).status).toBe(202);
    const res = await fetch(`${sys.url}/v1/investigations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sys.tokens.admin}` },
      body: JSON.stringify({ playbook: 'enospc', target: { node: 'test-node' } }),
    });
    expect(res.status).toBe(429);
    const retry = Number(res.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/token:admin started 2 investigations/);
    expect(await queued()).toBe(2);
    // Budgets are per requester.
    expect((await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' } }, { token: 'other' })).status).toBe(202);
  });
});
