import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVESTIGATION_ID } from '../../src/core/ids.ts';
import { Routing } from '../../src/core/routing.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { openQueue } from '../../src/queue/open.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { testRedisUrl } from '../helpers/services.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/** The HTTP contract of API.md against real Redis and S3, with no orchestrator running: requests stay queued. */
describe('investigations API', () => {
  let sys: TestSystem;
  let queue: Queue;
  const redis = createRedis(testRedisUrl());
  const queued = async () => (await queue.getJobCounts('waiting')).waiting ?? 0;

  beforeAll(async () => {
    sys = await startSystem({ parts: ['api'] });
    queue = openQueue(QUEUES.investigations, { connection: redis, prefix: sys.config.QUEUE_PREFIX });
  });
  afterAll(async () => {
    await queue?.close();
    await redis.quit();
    await sys?.stop();
  });

  it('accepts a valid request with 202, a link, and one queued job', async () => {
    const before = await queued();
    const res = await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' }, params: { duration: '5s' }, requestedBy: 'forged' });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ status: 'queued', playbook: 'enospc', links: { self: `/v1/investigations/${res.json.id}` } });
    expect(res.json.id).toMatch(INVESTIGATION_ID);
    expect(await queued()).toBe(before + 1);
    const got = await sys.get(`/v1/investigations/${res.json.id}`);
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ id: res.json.id, status: 'queued', target: { node: 'test-node' }, params: { duration: '5s' }, steps: [] });
    expect(got.json.requestedBy).toBe('token:admin');
  });

  it('answers a symptom with the routing: the playbook, its score, the deciding words and the runners-up, also in GET', async () => {
    const res = await sys.post('/v1/investigations', { symptom: 'mount fails with ENOSPC, errno 28, disk is full', target: { node: 'test-node' }, params: { duration: '5s' } });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ playbook: 'enospc', routing: { playbook: 'enospc', confident: true, why: expect.stringContaining('ENOSPC') } });
    const routing = Routing.parse(res.json.routing);
    expect(routing.score).toBeGreaterThanOrEqual(0.5);
    expect(routing.alternatives.length).toBeLessThanOrEqual(3);
    const got = await sys.get(`/v1/investigations/${res.json.id}`);
    expect(got.json.routing).toEqual(res.json.routing);
  });

  it.each([
    ['no target', { playbook: 'enospc' }, ['target']],
    ['empty target', { playbook: 'enospc', target: {} }, ['target']],
    ['bad cgroup path', { playbook: 'enospc', target: { cgroup: '/a/../../etc' } }, ['target.cgroup']],
    ['shell in cgroup', { playbook: 'enospc', target: { cgroup: '/a;rm -rf /' } }, ['target.cgroup']],
    ['pid not a number', { playbook: 'enospc', target: { pid: '42' } }, ['target.pid']],
    ['unknown target field', { playbook: 'enospc', target: { node: 'n1', host: 'x' } }, ['target']],
    ['unknown playbook', { playbook: 'nope', target: { node: 'n1' } }, ['playbook']],
    ['neither playbook nor symptom', { target: { node: 'n1' } }, ['playbook']],
    // A symptom matching nothing runs triage (test/unit/routing.test.ts); one without a word is no symptom.
    ['symptom without words', { symptom: ' ?! ', target: { node: 'n1' } }, ['symptom']],
    ['duration too long', { playbook: 'enospc', target: { node: 'n1' }, params: { duration: '10m' } }, ['params.duration']],
    ['duration malformed', { playbook: 'cpu-profile', target: { node: 'n1' }, params: { duration: 'soon' } }, ['params.duration']],
    ['hz out of range', { playbook: 'cpu-profile', target: { node: 'n1' }, params: { hz: 100000 } }, ['params.hz']],
    ['unknown param', { playbook: 'cpu-profile', target: { node: 'n1' }, params: { program: 'BEGIN{}' } }, ['params']],
    ['two bad fields at once', { playbook: 'cpu-profile', target: { pid: -1 }, params: { hz: 0 } }, ['target.pid']],
  ])('rejects %s with 400 naming the field, and queues nothing', async (_name, body, paths) => {
    const before = await queued();
    const res = await sys.post('/v1/investigations', body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ type: expect.any(String), title: 'Invalid request', status: 400 });
    const errorPaths = (res.json.errors as { path: string }[]).map((e) => e.path);
    for (const p of paths) expect(errorPaths).toContain(p);
    expect(await queued()).toBe(before);
  });

  it('rejects malformed JSON with a problem document', async () => {
    const res = await fetch(`${sys.url}/v1/investigations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sys.tokens.admin}` },
      body: '{"playbook":',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers pod targets with 422 while no Kubernetes inventory is configured', async () => {
    const before = await queued();
    const res = await sys.post('/v1/investigations', { playbook: 'enospc', target: { pod: 'shop/cart-7d9f' } });
    expect(res.status).toBe(422);
    expect(res.json.detail).toMatch(/Kubernetes inventory/);
    expect(await queued()).toBe(before);
  });

  it('404s unknown and malformed ids, artifacts of unknown investigations, and unknown routes', async () => {
    for (const path of ['/v1/investigations/inv_00000000000000000000000000', '/v1/investigations/nope', '/v1/investigations/nope/artifacts/x.json', '/v2/nothing']) {
      const res = await sys.get(path);
      expect(res.status, path).toBe(404);
      expect(res.contentType).toBe('application/problem+json');
    }
  });

  it('refuses artifact paths that climb out of the investigation', async () => {
    const { json } = await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' } });
    const res = await sys.get(`/v1/investigations/${json.id}/artifacts/..%2F..%2Fsecret`);
    expect(res.status).toBe(400);
    const missing = await sys.get(`/v1/investigations/${json.id}/artifacts/summary.json`);
    expect(missing.status).toBe(404);
    const report = await sys.get(`/v1/investigations/${json.id}/report`);
    expect(report.status).toBe(404);
    expect(report.json.detail).toMatch(/no report yet \(status queued\)/);
  });

  it('lists newest first, filters, and pages with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { json } = await sys.post('/v1/investigations', { playbook: i % 2 ? 'cpu-profile' : 'enospc', target: { node: 'test-node' } });
      ids.push(json.id as string);
    }
    const page1 = await sys.get('/v1/investigations?limit=2');
    const items1 = page1.json.items as { id: string }[];
    expect(items1.map((i) => i.id)).toEqual([ids[4], ids[3]]);
    const page2 = await sys.get(`/v1/investigations?limit=2&cursor=${page1.json.nextCursor}`);
    expect((page2.json.items as { id: string }[]).map((i) => i.id)).toEqual([ids[2], ids[1]]);
    const profiles = await sys.get('/v1/investigations?playbook=cpu-profile&limit=50');
    const profileIds = (profiles.json.items as { id: string; playbook: string }[]).map((i) => i.id);
    expect(profileIds.slice(0, 2)).toEqual([ids[3], ids[1]]);
    expect((profiles.json.items as { playbook: string }[]).every((i) => i.playbook === 'cpu-profile')).toBe(true);
    const bad = await sys.get('/v1/investigations?status=done&limit=0');
    expect(bad.status).toBe(400);
    expect((bad.json.errors as { path: string }[]).map((e) => e.path).sort()).toEqual(['query.limit', 'query.status']);
  });

  it('cancels a queued investigation at once and takes its job off the queue', async () => {
    const { json } = await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' } });
    const before = await queued();
    const res = await sys.post(`/v1/investigations/${json.id}/cancel`, {});
    expect(res.status).toBe(202);
    expect(res.json.status).toBe('cancelled');
    expect(await queued()).toBe(before - 1);
    const again = await sys.post(`/v1/investigations/${json.id}/cancel`, {});
    expect(again.status).toBe(409);
  });

  it('reports health and readiness against real Redis and S3', async () => {
    expect((await sys.get('/healthz')).json).toEqual({ status: 'ok' });
    expect((await sys.get('/readyz')).json).toMatchObject({ status: 'ready', redis: 'ok', storage: 'ok' });
  });

  it('serves an OpenAPI 3.1 document generated from the request schemas', async () => {
    const res = await sys.get('/openapi.json');
    expect(res.json.openapi).toBe('3.1.0');
    const schemas = (res.json.components as { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> }).schemas;
    expect(Object.keys(schemas.InvestigationRequest!.properties!)).toEqual(expect.arrayContaining(['playbook', 'symptom', 'target', 'params']));
    // target is optional in the schema (fleet-wide playbooks run without one); other playbooks refuse its absence.
    expect(schemas.InvestigationRequest!.properties!.target).toBeDefined();
    expect(Object.keys(res.json.paths as object)).toContain('/v1/investigations/{id}/cancel');
  });

  it('describes playbooks with their parameters as JSON Schema', async () => {
    const res = await sys.get('/v1/playbooks/cpu-profile');
    expect(res.json).toMatchObject({ name: 'cpu-profile', steps: [{ id: 'cpu', tool: 'profile' }] });
    const props = (res.json.parameters as { properties: Record<string, { type?: string; maximum?: number }> }).properties;
    expect(props.hz).toMatchObject({ type: 'integer', maximum: 999 });
  });

  it('exposes Prometheus metrics without a token: requests by route pattern, investigations by source', async () => {
    const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"()|.+]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    const series = 'tracehound_investigations_started_total{playbook="cpu-profile",source="token"}';
    const before = value(await (await fetch(`${sys.url}/metrics`)).text(), series);
    expect((await sys.post('/v1/investigations', { playbook: 'cpu-profile', target: { node: 'test-node' } })).status).toBe(202);
    const res = await fetch(`${sys.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(value(text, series)).toBe(before + 1);
    expect(text).toMatch(/^tracehound_http_requests_total\{method="POST",route="\/v1\/investigations",status="202"\} \d+$/m);
    expect(text).toMatch(/^tracehound_http_requests_total\{method="GET",route="\/v1\/investigations\/:id",status="\d+"\} \d+$/m);
    expect(text).toContain('tracehound_process_resident_memory_bytes');
  });
});
