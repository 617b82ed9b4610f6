import { Hono } from 'hono';
import type { ApiDeps } from '../deps.ts';
import { problem } from '../problem.ts';

export function healthRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const checks = await Promise.allSettled([deps.pingRedis(), deps.store.ping()]);
    const [redis, storage] = checks.map((r) => (r.status === 'fulfilled' ? 'ok' : `unreachable: ${(r.reason as Error).message}`));
    if (redis === 'ok' && storage === 'ok') return c.json({ status: 'ready', redis, storage });
    return problem(c, {
      type: 'https://tracehound.dev/problems/not-ready',
      title: 'Not ready',
      status: 503,
      detail: `redis: ${redis}; object storage: ${storage}`,
    });
  });
  return app;
}
