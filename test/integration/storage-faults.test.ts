import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Capabilities } from '../../src/core/capabilities.ts';
import { newInvestigationId } from '../../src/core/ids.ts';
import { loadConfig } from '../../src/config.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { CaptureJob, CaptureOutcome, LateArtifactsJob, lateArtifactJobId } from '../../src/queue/jobs.ts';
import { openQueue } from '../../src/queue/open.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { startApi } from '../../entry/api-server.ts';
import { startServices, type Services } from '../../entry/services.ts';
import type { Stoppable } from '../../src/stoppable.ts';
import { ArtifactStore } from '../../src/storage/artifact-store.ts';
import type { S3Limits } from '../../src/storage/s3-options.ts';
import { createS3Client } from '../../src/storage/s3-client.ts';
import { artifactKey } from '../../src/storage/keys.ts';
import { describeStorageError } from '../../src/storage/storage-errors.ts';
import { executeCapture } from '../../workers/node-agent/capture.ts';
import { ArtifactSpool } from '../../workers/node-agent/spool.ts';
import { startSpoolFlusher } from '../../workers/node-agent/spool-flusher.ts';
import { testRedisUrl, testS3, uniquePrefix } from '../helpers/services.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

// Small bounds, so a hung S3 shows within a second or two: a call may take maxAttempts × (request timeout) + backoff.
const LIMITS: S3Limits = { connectTimeoutMs: 300, requestTimeoutMs: 500, maxAttempts: 2 };
const CALL_BOUND_MS = 2500;

const s3 = inject('s3');
const direct = testS3();
const endpoint = new URL(s3.endpoint);
const redisEndpoint = new URL(testRedisUrl());
const tmp = mkdtempSync(join(tmpdir(), 'th-storage-faults-'));
let proxy: TcpProxy;

function storeAt(url: string, bucket = s3.bucket, limits = LIMITS): ArtifactStore {
  const client = createS3Client({
    endpoint: url,
    region: 'us-east-1',
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: true,
    limits,
  });
  return new ArtifactStore({ client, bucket });
}

function recordingLog() {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as (typeof lines)[number]) });
  return { log, lines };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** How long `fn` takes to settle, and what it threw. */
async function timed(fn: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const t0 = performance.now();
  try {
    await fn();
    return { ms: performance.now() - t0, error: undefined };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

beforeAll(async () => {
  proxy = await startTcpProxy(endpoint.hostname, Number(endpoint.port));
});
afterAll(async () => {
  await proxy.close();
  direct.client.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

describe('S3 calls are bounded', () => {
  it('put, get, list and ping against a hung S3 fail within connect/request timeouts and bounded retries', async () => {
    // A fresh client: no kept-alive connection from before the fault, so each attempt is a connection to count.
    const store = storeAt(proxy.url());
    const key = artifactKey(newInvestigationId(), 'summary.json');
    await proxy.mode('hang');
    try {
      const calls: [string, () => Promise<unknown>][] = [
        ['put', () => store.put(key, '{"v":2}', 'application/json')],
        ['get', () => store.get(key)],
        ['list', () => store.list(key)],
        ['ping', () => store.ping()],
      ];
      for (const [what, call] of calls) {
        const before = proxy.accepted;
        const { ms, error } = await timed(call);
        expect(error, what).toBeInstanceOf(Error);
        expect(describeStorageError((error as { cause?: unknown }).cause ?? error), what).toBe('object storage timed out');
        // Each attempt waited the request timeout on its own connection, and there were exactly maxAttempts.
        expect(ms, what).toBeGreaterThanOrEqual(LIMITS.maxAttempts * LIMITS.requestTimeoutMs - 50);
        expect(ms, what).toBeLessThan(CALL_BOUND_MS);
        expect(proxy.accepted - before, what).toBe(LIMITS.maxAttempts);
      }
    } finally {
      await proxy.mode('pass');
      await store.close();
    }
  });

  it('a GET whose body stalls after the headers fails within the request timeout', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000' });
      res.write(Buffer.alloc(10, 'a')); // then nothing, connection held open
    });
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const store = storeAt(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    try {
      const { ms, error } = await timed(() => store.get('any/key'));
      expect(describeStorageError(error)).toBe('object storage timed out');
      expect(ms).toBeLessThan(LIMITS.requestTimeoutMs + 1000);
    } finally {
      await store.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('a slow but live S3 (every chunk delayed) still works', async () => {
    // Room for the whole upload: the request timeout runs until the answer's headers, after the PUT body.
    const store = storeAt(proxy.url(), s3.bucket, { ...LIMITS, requestTimeoutMs: 5000 });
    const key = artifactKey(newInvestigationId(), 'cpu/node-1/stacks.folded');
    await proxy.mode('slow', { delayMs: 100, chunkBytes: 4096 });
    try {
      const body = Buffer.alloc(16 * 1024, 'main;work 1\n');
      const { ms } = await timed(() => store.put(key, body, 'text/plain; charset=utf-8'));
      expect(ms).toBeGreaterThanOrEqual(400); // really slowed: 4 chunks up at least
      expect((await store.get(key)).body.equals(body)).toBe(true);
    } finally {
      await proxy.mode('pass');
      await store.close();
    }
  });

  it('refused and answered errors read as words, never an errno', async () => {
    const store = storeAt(proxy.url());
    const wrongKey = new ArtifactStore({
      client: createS3Client({ endpoint: proxy.url(), region: 'us-east-1', accessKeyId: 'nobody', secretAccessKey: 'wrong-secret', forcePathStyle: true, limits: LIMITS }),
      bucket: s3.bucket,
    });
    await proxy.mode('refuse');
    try {
      const refused = await timed(() => store.put('x', 'y', 'text/plain'));
      expect(String((refused.error as Error).message)).toMatch(/ECONNREFUSED/); // what the SDK says…
      expect(describeStorageError(refused.error, 'upload')).toBe('object storage unreachable'); // …and what people read
      expect(refused.ms).toBeLessThan(CALL_BOUND_MS);
    } finally {
      await proxy.mode('pass');
    }
    const denied = await timed(() => wrongKey.put('x', 'y', 'text/plain'));
    expect(describeStorageError(denied.error, 'upload')).toBe('object storage refused the upload (HTTP 403)');
    await store.close();
    await wrongKey.close();
  });
});

describe('start-up and /readyz with storage and Redis faults', () => {
  let redisProxy: TcpProxy;
  let services: Services | undefined;
  let api: (Stoppable & { url: string }) | undefined;
  beforeAll(async () => {
    redisProxy = await startTcpProxy(redisEndpoint.hostname, Number(redisEndpoint.port));
  });
  afterAll(async () => {
    await Promise.all([proxy.mode('pass'), redisProxy.mode('pass')]);
    await api?.stop();
    for (const o of services?.owned.reverse() ?? []) await o.stop();
    await services?.store.close();
    await redisProxy.close();
  });

  it('starts at once with S3 hung, says why in the log and /readyz (within 2 s), and becomes ready when S3 answers', async () => {
    const bucket = uniquePrefix('ready'); // does not exist yet: start-up must create it once storage answers
    const config = loadConfig({
      PORT: '0',
      NODE_NAME: 'test-node',
      // Through the proxy, with the test Redis's password.
      REDIS_URL: Object.assign(new URL(redisProxy.url('redis')), { password: redisEndpoint.password }).href,
      S3_ENDPOINT: proxy.url(),
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_CONNECT_TIMEOUT: `${LIMITS.connectTimeoutMs}ms`,
      // Longer than the probe's own bound, so that bound is what answers.
      S3_REQUEST_TIMEOUT: '2s',
      S3_MAX_ATTEMPTS: String(LIMITS.maxAttempts),
      QUEUE_PREFIX: uniquePrefix('ready'),
      DATA_DIR: join(tmp, 'data'),
      LINK_SECRET: 'tracehound-test-link-secret-0123456789',
    });
    const { log, lines } = recordingLog();
    await proxy.mode('hang');

    const began = performance.now();
    services = await startServices(config, log);
    api = await startApi(config, services, log);
    services.storage.start();
    expect(performance.now() - began).toBeLessThan(1000);
    expect(services.storage.isReady).toBe(false);
    const warned = await until('start-up logs that storage is unreachable', () =>
      lines.find((l) => l.msg.startsWith(`object storage not reachable at ${proxy.url()}:`)),
    );
    expect(warned.msg).toBe(`object storage not reachable at ${proxy.url()}: object storage timed out; retrying`);

    const readyz = async () => {
      const t0 = performance.now();
      const res = await fetch(`${api!.url}/readyz`);
      return { ms: performance.now() - t0, status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
    };
    const hung = await readyz();
    expect(hung.ms).toBeLessThan(2000);
    expect(hung.status).toBe(503);
    expect(hung.type).toBe('application/problem+json');
    expect(hung.body.detail).toBe('object storage: no answer within 1.5s');
    expect(hung.body.errors).toEqual([{ path: 'object storage', message: 'no answer within 1.5s' }]);

    // Redis hung too (accepts, never answers: ioredis would queue the ping for ever).
    await redisProxy.mode('hang');
    const both = await readyz();
    expect(both.ms).toBeLessThan(2000);
    expect(both.status).toBe(503);
    expect(both.body.errors).toEqual([
      { path: 'redis', message: 'no answer within 1.5s' },
      { path: 'object storage', message: 'no answer within 1.5s' },
    ]);
    await redisProxy.mode('pass');

    await proxy.mode('pass');
    await services.storage.whenReady();
    expect(services.storage.isReady).toBe(true);
    await expect(storeAt(s3.endpoint, bucket).ping()).resolves.toBeUndefined(); // the bucket was created
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', redis: 'ok', storage: 'ok' });
  });
});

describe('the agent keeps what storage does not take', () => {
  const capabilities: Capabilities = {
    kernel: release(),
    arch: process.arch,
    btf: false,
    tracefs: null,
    tracers: [],
    perfEvents: false,
    kprobes: false, fentry: false, uprobes: false,
    bpftrace: { available: false, version: null, reason: 'not needed: a collector' },
    cgroupV2: null,
  };
  const prefix = uniquePrefix('late');
  const queue = openQueue(QUEUES.lateArtifacts, { connection: createRedis(testRedisUrl()), prefix });
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
  });

  function job(): CaptureJob {
    // mount-namespaces reads /proc only: no BPF, no kernel state changed.
    return CaptureJob.parse({ investigationId: newInvestigationId(), stepId: 'mounts', node: 'test-node', tool: 'mount-namespaces', params: {}, durationMs: 0, scope: {} });
  }
  async function capture(data: CaptureJob, spool: ArtifactSpool, store: ArtifactStore) {
    const deps = { store, spool, capabilities, cgroupRoot: '/sys/fs/cgroup', bpftrace: 'bpftrace', mapKeysMax: 65_536, killGraceMs: 2000, startupMs: 30_000, maxDurationMs: 120_000, log: recordingLog().log };
    const t0 = performance.now();
    const outcome = CaptureOutcome.parse(await executeCapture(data, deps, new AbortController().signal));
    return { outcome, ms: performance.now() - t0 };
  }

  it('with S3 refusing, the capture succeeds with its result, lists the unstored files in words, and spools them; a restarted agent delivers them', async () => {
    const dir = join(tmp, 'spool-refused');
    const spool = await ArtifactSpool.open({ dir, maxBytes: 64 * 1024 * 1024, log: recordingLog().log });
    const store = storeAt(proxy.url());
    const data = job();
    await proxy.mode('refuse');
    let outcome: CaptureOutcome;
    try {
      ({ outcome } = await capture(data, spool, store));
    } finally {
      await proxy.mode('pass');
    }
    expect(outcome.status).toBe('succeeded');
    expect(outcome.reason).toBeUndefined();
    expect(outcome.result).toMatchObject({ namespaces: expect.any(Array) });
    expect(outcome.artifacts).toEqual([]);
    const names = outcome.unstored.map((u) => u.name);
    expect(names).toEqual(expect.arrayContaining(['mounts/test-node/result.json']));
    expect(names.length).toBeGreaterThanOrEqual(2); // the raw reading and result.json
    for (const u of outcome.unstored) {
      expect(u.reason).toBe('object storage unreachable');
      expect(Date.parse(u.since)).toBeGreaterThan(Date.now() - 60_000);
    }
    expect(JSON.stringify(outcome)).not.toMatch(/ECONN|errno/i);
    expect(spool.entries().map((e) => e.manifest.name)).toEqual(names);

    // A new agent process on the same spool directory, storage back: the first pass runs at once.
    const restarted = await ArtifactSpool.open({ dir, maxBytes: 64 * 1024 * 1024, log: recordingLog().log });
    expect(restarted.entries()).toHaveLength(names.length);
    const flusher = startSpoolFlusher({ spool: restarted, store, lateArtifacts: queue, log: recordingLog().log, intervalMs: 100 });
    try {
      await until('the spool is empty', () => (restarted.entries().length === 0 ? true : undefined));
    } finally {
      await flusher.close();
    }
    const stored = await direct.store.get(artifactKey(data.investigationId, 'mounts/test-node/result.json'));
    expect(JSON.parse(stored.body.toString())).toEqual(outcome.result);

    const jobs = (await queue.getJobs(['waiting'])).filter((j) => (j.data as LateArtifactsJob).investigationId === data.investigationId);
    expect(jobs.map((j) => j.id).sort()).toEqual(names.map((name) => lateArtifactJobId({ ...data, name })).sort());
    for (const j of jobs) {
      const late = LateArtifactsJob.parse(j.data);
      expect(late).toMatchObject({ stepId: 'mounts', node: 'test-node' });
      expect(late.artifacts).toHaveLength(1);
      const a = late.artifacts[0]!;
      expect(a.key).toBe(artifactKey(data.investigationId, a.name));
      expect(a.size).toBe((await direct.store.get(a.key)).size);
    }
    await store.close();
  });

  it('with S3 hung, the capture ends within the S3 bounds (one upload tried, the rest spooled at once) and the flusher backs off until S3 answers', async () => {
    const spool = await ArtifactSpool.open({ dir: join(tmp, 'spool-hung'), maxBytes: 64 * 1024 * 1024, log: recordingLog().log });
    const store = storeAt(proxy.url());
    const data = job();
    await proxy.mode('hang');
    const { log, lines } = recordingLog();
    const flusher = startSpoolFlusher({ spool, store, lateArtifacts: queue, log, intervalMs: 200 });
    let outcome: CaptureOutcome;
    try {
      let ms: number;
      ({ outcome, ms } = await capture(data, spool, store));
      expect(outcome.status).toBe('succeeded');
      expect(outcome.unstored.length).toBeGreaterThanOrEqual(2);
      for (const u of outcome.unstored) expect(u.reason).toBe('object storage timed out');
      expect(ms).toBeLessThan(CALL_BOUND_MS);
      await until('the flusher reports that it waits', () => lines.find((l) => l.msg === 'spooled artifacts wait: object storage timed out'), 15_000);
      expect(spool.entries()).toHaveLength(outcome.unstored.length);
    } finally {
      await proxy.mode('pass');
    }
    const ofThis = async () => (await queue.getJobs(['waiting'])).filter((j) => (j.data as LateArtifactsJob).investigationId === data.investigationId);
    try {
      await until('the spool is empty', () => (spool.entries().length === 0 ? true : undefined), 15_000);
      const names = lateNames(await ofThis());
      expect(names.sort()).toEqual(outcome.unstored.map((u) => u.name).sort());

      // Delivered again (an answer lost after the upload, or a restart before the entry was removed): nothing twice.
      const again = outcome.unstored[0]!;
      await spool.add({ investigationId: data.investigationId, stepId: data.stepId, node: data.node, name: again.name, key: artifactKey(data.investigationId, again.name), contentType: 'application/json', since: again.since }, '{}');
      expect(await flusher.flush()).toBe(true);
      expect(spool.entries()).toHaveLength(0);
      expect(lateNames(await ofThis()).sort()).toEqual(names);
    } finally {
      await flusher.close();
      await store.close();
    }
  });
});

function lateNames(jobs: { data: unknown }[]): string[] {
  return jobs.flatMap((j) => LateArtifactsJob.parse(j.data).artifacts.map((a) => a.name));
}
