import { z } from 'zod';
import { metrics } from '../../metrics.ts';
import { problem } from '../problem.ts';
import { bytesResponse, defineRoute, jsonResponse, problemResponse } from '../route.ts';

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

const Ready = z.object({ status: z.literal('ready'), redis: z.literal('ok'), storage: z.literal('ok') });

/** Probes and the Prometheus scrape: public, answered whatever Redis and S3 do. */
export const healthRoutes = [
  defineRoute({
    method: 'GET',
    path: '/healthz',
    access: 'public',
    summary: 'Liveness',
    responses: { 200: jsonResponse('alive', z.object({ status: z.literal('ok') })) },
    handle: (c) => c.json({ status: 'ok' }),
  }),
  defineRoute({
    method: 'GET',
    path: '/readyz',
    access: 'public',
    summary: 'Redis and object storage reachable',
    responses: { 200: jsonResponse('ready', Ready), 503: problemResponse('not ready; errors[] names each dependency that failed and why') },
    handle: async (c, _input, deps) => {
      // ioredis queues commands while disconnected: a ping is answered late or never, hence the race, not a timeout option.
      const [redis, storage] = await Promise.all([check(() => deps.pingRedis()), check((signal) => deps.store.ping({ signal }))]);
      if (redis === 'ok' && storage === 'ok') return c.json({ status: 'ready', redis, storage } satisfies z.infer<typeof Ready>);
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
    },
  }),
  // Scraped by Prometheus like the probes; counts only, no names of people, pods or nodes.
  defineRoute({
    method: 'GET',
    path: '/metrics',
    access: 'public',
    summary: 'Prometheus metrics of this process',
    responses: { 200: bytesResponse('Prometheus text exposition format', 'text/plain') },
    handle: async (c) => c.body(await metrics.metrics(), 200, { 'content-type': metrics.contentType }),
  }),
];
