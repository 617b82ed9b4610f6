/**
 * Does a differential flame graph still stall the API? `/healthz` latency (p50/p99/max) while two diffs of ~30 MB
 * folded profiles render through GET /v1/investigations/:id/diff/:otherId (the render pool, worker threads),
 * beside two references measured in the same run: `/healthz` when the API is idle, and while the same diff is
 * rendered on the main thread, as the API did before the pool. Printed, not asserted.
 * Target: p99 under 100 ms while the diffs render.
 *
 * API only, against an embedded Redis and S3 (s3rver runs on the API's event loop here, as with `npm start`: its
 * work counts); the profiles are bench/synthetic-profile.ts walks, stored as finished cpu-profile investigations.
 * `/healthz` is asked every 10 ms, one request at a time, and the diffs are asked for, from other threads. Also
 * printed: how busy the API's event loop was and its longest stall (gap between ticks of a 10 ms timer).
 * Run with `npx tsx bench/diff-healthz.ts` (BENCH_STACKS=n distinct stacks per profile, default 37,000 ≈ 30 MB).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance as perf } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { loadConfig } from '../src/config.ts';
import { newInvestigationId } from '../src/core/ids.ts';
import { renderDiffFlamegraph } from '../src/flamegraph/diff.ts';
import { createLogger } from '../src/log.ts';
import { createRedis } from '../src/redis/connection.ts';
import { InvestigationRecords } from '../src/records/investigation-records.ts';
import { startApi } from '../entry/api-server.ts';
import { startServices } from '../entry/services.ts';
import type { Stoppable } from '../src/stoppable.ts';
import { artifactKey } from '../src/storage/keys.ts';
import { mb, syntheticFolded, vmHwm } from './synthetic-profile.ts';

const STACKS = Number(process.env.BENCH_STACKS ?? 37_000);
const TARGET_P99_MS = 100;
const NAME = 'cpu/bench-node/stacks.folded';

const dir = mkdtempSync(join(tmpdir(), 'th-bench-diff-'));
const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: join(dir, 'data'), REDIS_URL: '', S3_ENDPOINT: '', ACCESS_FILE: '' });
const log = createLogger('silent');
const services = await startServices(config, log);
const parts: Stoppable[] = [...services.owned];
const redis = createRedis(services.redis);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const line = ({ latencies: xs, loopMaxMs, loopBusy }: Probe) =>
  `p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (${xs.length} requests); ` +
  `event loop busy ${(loopBusy * 100).toFixed(0)}%, longest stall ${loopMaxMs.toFixed(0)} ms`;

// The prober runs in its own thread: a client on the API's event loop cannot send while that loop is blocked, so it
// would never see the wait it is there to measure.
const PROBER = `
const { parentPort, workerData } = require('node:worker_threads');
const out = [];
let stop = false;
parentPort.once('message', () => (stop = true));
(async () => {
  await (await fetch(workerData.url + '/healthz')).text();
  parentPort.postMessage('ready');
  while (!stop) {
    const t0 = performance.now();
    await (await fetch(workerData.url + '/healthz')).text();
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 10));
  }
  parentPort.postMessage(out);
})();
`;

// The diffs are asked for from another thread too: reading two large SVG responses is the client's work, and a
// real client is not on the API's event loop either.
const DIFF_CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
Promise.all(workerData.paths.map(async (path) => {
  const t0 = performance.now();
  const res = await fetch(workerData.url + path, { headers: { authorization: 'Bearer ' + workerData.token } });
  const bytes = (await res.arrayBuffer()).byteLength;
  return { status: res.status, ms: performance.now() - t0, bytes };
})).then((out) => parentPort.postMessage(out));
`;

async function diffsFromAnotherThread(url: string, token: string, pairs: [string, string][]): Promise<{ ms: number; bytes: number }[]> {
  const client = new Worker(DIFF_CLIENT, { eval: true, workerData: { url, token, paths: pairs.map(([a, b]) => `/v1/investigations/${a}/diff/${b}`) } });
  const out = await new Promise<{ status: number; ms: number; bytes: number }[]>((resolve, reject) => {
    client.once('message', resolve);
    client.once('error', reject);
  });
  await client.terminate();
  const failed = out.find((r) => r.status !== 200);
  if (failed) throw new Error(`a diff answered ${failed.status}`);
  return out;
}

interface Probe {
  latencies: number[];
  /** Longest gap between ticks of a 10 ms timer on the API's event loop. */
  loopMaxMs: number;
  /** Share of the time the API's event loop was busy (not waiting for I/O). */
  loopBusy: number;
}

/** Asks /healthz every 10 ms, one at a time, from another thread, while `phase` runs. */
async function probeHealthz(url: string, phase: () => Promise<unknown>): Promise<Probe> {
  const prober = new Worker(PROBER, { eval: true, workerData: { url } });
  await new Promise((resolve) => prober.once('message', resolve));
  let loopMaxMs = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    loopMaxMs = Math.max(loopMaxMs, now - last);
    last = now;
  }, 10);
  const elu = perf.eventLoopUtilization();
  try {
    await phase();
  } finally {
    clearInterval(ticker);
  }
  const loopBusy = perf.eventLoopUtilization(elu).utilization;
  const latencies = new Promise<number[]>((resolve) => prober.once('message', resolve));
  prober.postMessage('stop');
  const out = { latencies: await latencies, loopMaxMs, loopBusy };
  await prober.terminate();
  return out;
}

try {
  const api = await startApi(config, services, log);
  parts.push(api);
  const token = api.generatedToken?.token;
  if (!token) throw new Error('expected a generated admin token (ACCESS_FILE unset)');
  await services.store.ensureBucket();
  const records = new InvestigationRecords(redis, config.QUEUE_PREFIX);

  const g0 = performance.now();
  // Four profiles, two diffs that share no input (and no cache entry): 0 → 2 and 1 → 3.
  const texts = [
    syntheticFolded({ stacks: STACKS }),
    syntheticFolded({ stacks: STACKS, shuffle: true }),
    syntheticFolded({ stacks: Math.round(STACKS * 0.95) }),
    syntheticFolded({ stacks: Math.round(STACKS * 0.95), shuffle: true }),
  ];
  const ids: string[] = [];
  for (const text of texts) {
    const id = newInvestigationId();
    const key = artifactKey(id, NAME);
    const { size } = await services.store.put(key, text, 'text/plain; charset=utf-8');
    const now = new Date().toISOString();
    await records.create({
      id, status: 'succeeded', playbook: 'cpu-profile', target: { node: 'bench-node' }, params: {}, createdAt: now, requestedBy: 'token:admin', steps: [],
      artifacts: [{ name: NAME, key, contentType: 'text/plain; charset=utf-8', size, url: `/v1/investigations/${id}/artifacts/${NAME}` }],
    });
    ids.push(id);
  }
  console.log(
    `input: 4 profiles of ${STACKS} / ${Math.round(STACKS * 0.95)} distinct stacks, ${texts.map((t) => mb(Buffer.byteLength(t))).join(', ')}; ` +
      `generated and stored in ${(performance.now() - g0).toFixed(0)} ms; render pool of ${config.RENDER_POOL_SIZE} thread(s)`,
  );

  // Reference 1: idle.
  const idle = await probeHealthz(api.url, () => new Promise((r) => setTimeout(r, 3000)));

  // The pool: two diffs at once, through the API.
  let renders: { ms: number; bytes: number }[] = [];
  const pooled = await probeHealthz(api.url, async () => {
    renders = await diffsFromAnotherThread(api.url, token, [
      [ids[0]!, ids[2]!],
      [ids[1]!, ids[3]!],
    ]);
  });

  // Reference 2: the same first diff on the main thread, as before the pool.
  let mainMs = 0;
  const blocked = await probeHealthz(api.url, async () => {
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    renderDiffFlamegraph(texts[0]!, texts[2]!, { normalize: true, title: 'main thread' });
    mainMs = performance.now() - t0;
    // Lets the requests that waited be answered (and counted).
    await new Promise((r) => setTimeout(r, 100));
  });

  console.log(`/healthz, idle:                                ${line(idle)}`);
  console.log(`/healthz, while 2 diffs render in the pool:    ${line(pooled)}`);
  console.log(`  diffs: ${renders.map((r) => `${(r.ms / 1000).toFixed(1)} s (${mb(r.bytes)} SVG)`).join(', ')}`);
  console.log(`/healthz, while 1 diff renders on the loop:    ${line(blocked)}; the render took ${(mainMs / 1000).toFixed(1)} s`);
  console.log(`peak RSS of this process (API + bench): ${mb(vmHwm())}`);
  console.log(`target: p99 < ${TARGET_P99_MS} ms while diffs render ${pct(pooled.latencies, 99) < TARGET_P99_MS ? 'OK' : 'MISSED'}`);
} finally {
  await redis.quit();
  for (const p of parts.reverse()) await p.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
