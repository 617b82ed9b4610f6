import { Hono } from 'hono';
import type { ApiDeps } from '../deps.ts';
import { problem } from '../problem.ts';

/**
 * Each dependency check of /readyz gets this long, all at once, so the probe answers within 2 s whatever Redis or
 * S3 do: a hung dependency must fail the probe, not hang it (and with it the kubelet's probe and the load balancer).
 */
const CHECK_TIMEOUT_MS = 1500;

/** 'ok', or why not in words. */
async function check(run: (signal: AbortSignal) => Promise<void>): Promise<string> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      ac.abort();
      resolve(`no answer within ${CHECK_TIMEOUT_MS / 1000}s`);
    }, CHECK_TIMEOUT_MS);
  });
  const answered = run(ac.signal).then(
    () => 'ok',
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
  try {
    return await Promise.race([answered, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    // ioredis queues commands while disconnected: a ping is answered late or never, hence the race, not a timeout option.
    const [redis, storage] = await Promise.all([check(() => deps.pingRedis()), check((signal) => deps.store.ping({ signal }))]);
    if (redis === 'ok' && storage === 'ok') return c.json({ status: 'ready', redis, storage });
    const failed = [
      ...(redis === 'ok' ? [] : [{ path: 'redis', message: redis }]),
      ...(storage === 'ok' ? [] : [{ path: 'object storage', message: storage }]),
    ];
    return problem(c, {
      type: 'https://tracehound.dev/problems/not-ready',
      title: 'Not ready',
      status: 503,
      detail: failed.map((f) => `${f.path}: ${f.message}`).join('; '),
      errors: failed,
    });
  });
  return app;
}
