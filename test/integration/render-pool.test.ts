import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticFolded } from '../../bench/synthetic-profile.ts';
import { newInvestigationId } from '../../src/core/ids.ts';
import type { Investigation, InvestigationStatus } from '../../src/core/investigation.ts';
import { renderFlamegraph } from '../../src/flamegraph/svg.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { InvestigationRecords } from '../../src/records/investigation-records.ts';
import { artifactKey, diffKey } from '../../src/storage/keys.ts';
import { testRedisUrl, testS3 } from '../helpers/services.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

const MiB = 1024 * 1024;
const STACKS = 'cpu/test-node/stacks.folded';
const SVG = 'cpu/test-node/flamegraph.svg';

/**
 * Flame graph renders of the API (diff SVG, PNG thumbnail) in the worker-thread pool, against real Redis and S3.
 * One render thread and no queue (RENDER_POOL_SIZE=1, RENDER_QUEUE_MAX=0), so "full" is one render running.
 */
describe('render pool', () => {
  let sys: TestSystem;
  const redis = createRedis(testRedisUrl());
  const s3 = testS3();
  let records: InvestigationRecords;

  /**
   * A finished cpu-profile as the orchestrator records it. `files` are stored unless their content is a number:
   * then only the record claims that size, and nothing is stored (what a render must not try to download).
   */
  async function profile(
    files: Record<string, string | Buffer | number>,
    status: InvestigationStatus = 'succeeded',
    steps: Investigation['steps'] = [],
  ): Promise<string> {
    const id = newInvestigationId();
    const artifacts: Investigation['artifacts'] = [];
    for (const [name, content] of Object.entries(files)) {
      const key = artifactKey(id, name);
      const type = name.endsWith('.svg') ? 'image/svg+xml' : 'text/plain; charset=utf-8';
      const size = typeof content === 'number' ? content : Buffer.byteLength(content);
      if (typeof content !== 'number') await s3.store.put(key, content, type);
      artifacts.push({ name, key, contentType: type, size, url: `/v1/investigations/${id}/artifacts/${name}` });
    }
    const now = new Date().toISOString();
    await records.create({
      id, status, playbook: 'cpu-profile', target: { node: 'test-node' }, params: {}, createdAt: now, requestedBy: 'token:admin', steps, artifacts,
    });
    return id;
  }

  /** A sample of GET /metrics: the value of the series of `name` whose labels include all of `labels`. */
  async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = (await sys.get('/metrics')).text;
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const line = text.split("\n").find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && want.every((w) => l.includes(w)));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  const diff = (a: string, b: string, query = '') => sys.get(`/v1/investigations/${a}/diff/${b}${query}`);

  beforeAll(async () => {
    sys = await startSystem({ parts: ['api'], env: { RENDER_POOL_SIZE: '1', RENDER_QUEUE_MAX: '0' } });
    records = new InvestigationRecords(redis, sys.config.QUEUE_PREFIX);
  });
  afterAll(async () => {
    await sys?.stop();
    await redis.quit();
    s3.client.destroy();
  });

  describe('with two large profiles', () => {
    // ~10 MB each: on the event loop their diff took 2–5 s, the time /healthz and everything else waited.
    let before: string;
    let after: string;
    beforeAll(async () => {
      before = await profile({ [STACKS]: syntheticFolded({ stacks: 12_000 }) });
      after = await profile({ [STACKS]: syntheticFolded({ stacks: 11_000, shuffle: true }) });
    });

    it('renders their diff while the event loop stays responsive and /healthz answers at once', async () => {
      let maxGap = 0;
      let last = performance.now();
      const ticker = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
      }, 10);
      const healthz: number[] = [];
      let rendering = true;
      const probe = (async () => {
        while (rendering) {
          const t0 = performance.now();
          expect((await sys.get('/healthz')).status).toBe(200);
          healthz.push(performance.now() - t0);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const t0 = performance.now();
      const res = await diff(before, after);
      const renderMs = performance.now() - t0;
      rendering = false;
      await probe;
      clearInterval(ticker);

      expect(res.status).toBe(200);
      expect(res.contentType).toBe('image/svg+xml');
      expect(res.text).toContain(`Differential flamegraph: ${before} → ${after}`);
      // The render took long enough for the probe to ask many times; none of them waited for it. On the event loop
      // the longest gap was the whole render. The bound is generous and scales with the render time because CI
      // machines are shared: on a loaded one every timer is late, and renders are slower too.
      const bound = Math.min(2000, renderMs / 4);
      expect(renderMs).toBeGreaterThan(1000);
      expect(healthz.length).toBeGreaterThan(5);
      expect(Math.max(...healthz)).toBeLessThan(bound);
      expect(maxGap).toBeLessThan(bound);
    });

    it('refuses a render with 503 and Retry-After while the pool is full', async () => {
      const refusedBefore = await metric('tracehound_render_tasks_total', { kind: 'diff', outcome: 'refused' });
      const first = diff(before, after, '?normalize=false');
      // Admitted (downloading or rendering) holds the only place.
      const deadline = Date.now() + 10_000;
      while ((await metric('tracehound_render_pool_tasks', { state: 'admitted' })) < 1) {
        if (Date.now() > deadline) throw new Error('the first render was never admitted');
        await new Promise((r) => setTimeout(r, 5));
      }
      const res = await fetch(`${sys.url}/v1/investigations/${before}/diff/${after}?node=test-node`, { headers: { authorization: `Bearer ${sys.tokens.admin}` } });
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await res.json()).toMatchObject({ type: 'https://tracehound.dev/problems/overloaded', status: 503, detail: expect.stringContaining('RENDER_POOL_SIZE') });
      expect(await metric('tracehound_render_tasks_total', { kind: 'diff', outcome: 'refused' })).toBe(refusedBefore + 1);
      expect((await first).status).toBe(200);
    });
  });

  it('serves the second identical diff from the object store, without rendering again', async () => {
    const a = await profile({ [STACKS]: 'main;work;spin 90\nmain;idle 10\n' });
    const b = await profile({ [STACKS]: 'main;work;spin 40\nmain;work;io 50\nmain;idle 10\n' });
    const done = () => metric('tracehound_render_tasks_total', { kind: 'diff', outcome: 'done' });
    const rendered = await done();
    const first = await diff(a, b, '?normalize=false');
    expect(first.status).toBe(200);
    expect(await done()).toBe(rendered + 1);
    const cached = await s3.store.get(diffKey(a, b, { normalize: false }));
    expect(cached.body.toString('utf8')).toBe(first.text);

    const hits = await metric('tracehound_diff_cache_total', { result: 'hit' });
    const second = await diff(a, b, '?normalize=false');
    expect(second.status).toBe(200);
    expect(second.text).toBe(first.text);
    expect(await done()).toBe(rendered + 1);
    expect(await metric('tracehound_diff_cache_total', { result: 'hit' })).toBe(hits + 1);
    // Other options are another picture: rendered, and cached under their own key.
    expect((await diff(a, b)).status).toBe(200);
    expect(await done()).toBe(rendered + 2);
    await expect(s3.store.get(diffKey(a, b, { normalize: true }))).resolves.toBeDefined();
  });

  it('does not cache the diff of an investigation whose stacks may still change', async () => {
    const a = await profile({ [STACKS]: 'main;spin 5\n' });
    const running = await profile({ [STACKS]: 'main;spin 7\n' }, 'running');
    // Ended, but another node's stacks wait in its agent's spool and will be added when storage takes them.
    const spooled = await profile({ [STACKS]: 'main;spin 9\n' }, 'succeeded', [
      {
        id: 'cpu', tool: 'profile', node: 'node-b', status: 'succeeded', artifacts: [],
        unstored: [{ name: 'cpu/node-b/stacks.folded', since: new Date().toISOString(), reason: 'object storage unreachable' }],
      },
    ]);
    for (const b of [running, spooled]) {
      expect((await diff(a, b)).status).toBe(200);
      await expect(s3.store.get(diffKey(a, b, { normalize: true }))).rejects.toThrow(/no artifact/);
    }
  });

  it('refuses inputs over RENDER_MAX_INPUT before downloading them, naming the investigation whose stacks are too big', async () => {
    // Nothing is stored under these records: a render that tried to download would fail differently (404).
    const big = await profile({ [STACKS]: 40 * MiB });
    const fair = await profile({ [STACKS]: 30 * MiB });
    const started = await metric('tracehound_render_pool_tasks', { state: 'admitted' });
    const res = await diff(big, fair);
    expect(res.status).toBe(422);
    expect(res.contentType).toBe('application/problem+json');
    expect(res.json).toMatchObject({ type: 'https://tracehound.dev/problems/input-too-large', detail: expect.stringContaining('RENDER_MAX_INPUT') });
    expect(res.json.detail).toContain(big);
    expect(res.json.errors).toEqual([{ path: 'id', message: `${big}: ${STACKS} is 40.0 MiB` }]);
    const reversed = await diff(fair, big);
    expect(reversed.json.errors).toEqual([{ path: 'otherId', message: `${big}: ${STACKS} is 40.0 MiB` }]);
    expect(await metric('tracehound_render_pool_tasks', { state: 'admitted' })).toBe(started);

    const hugeSvg = await profile({ [SVG]: 65 * MiB });
    const png = await sys.get(`/v1/investigations/${hugeSvg}/artifacts/${SVG.replace('.svg', '.png')}`);
    expect(png.status).toBe(422);
    expect(png.json.errors).toEqual([{ path: 'path', message: `${hugeSvg}: ${SVG} is 65.0 MiB` }]);
  });

  it('draws a missing PNG thumbnail in the pool and stores it beside the SVG', async () => {
    const id = await profile({ [SVG]: renderFlamegraph('main;work;spin 90\nmain;idle 10\n', { title: 'thumb' }) });
    const drawn = await metric('tracehound_render_tasks_total', { kind: 'png', outcome: 'done' });
    const res = await fetch(`${sys.url}/v1/investigations/${id}/artifacts/${SVG.replace('.svg', '.png')}`, { headers: { authorization: `Bearer ${sys.tokens.admin}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(await metric('tracehound_render_tasks_total', { kind: 'png', outcome: 'done' })).toBe(drawn + 1);
    expect((await s3.store.get(artifactKey(id, SVG.replace('.svg', '.png')))).body).toEqual(bytes);
  });
});
