import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { createLogger } from '../../src/log.ts';
import { startEmbeddedRedis } from '../../src/redis/embedded-redis.ts';
import type { Stoppable } from '../../src/stoppable.ts';
import { startEmbeddedS3 } from '../../src/storage/embedded-s3.ts';
import { startApi } from '../../entry/api-server.ts';
import { startOrchestratorPart } from '../../entry/orchestrator.ts';
import { startServices } from '../../entry/services.ts';
import { createTestCgroup, type TestCgroup } from '../../test/helpers/kernel.ts';

const BIN = fileURLToPath(new URL('../../bin/tracehound.mjs', import.meta.url));
export const BENCH_NODE = 'bench-node';

/**
 * One real stack for the whole benchmark, composed from entry/ as `npm start` composes it (test/helpers/system.ts
 * cannot be used outside vitest: it takes Redis and S3 from vitest's global setup). Redis and S3 are the embedded
 * servers; the API and the orchestrator run in this process; the agent runs as `tracehound agent` in a process of
 * its own, in a cgroup of its own, so that its CPU cost, and that of every bpftrace it starts, can be read from one
 * place: the cgroup's cpu.stat, which counts exited children too (a /proc/<pid>/stat walk would miss captures that
 * ended between two reads, and cutime only counts children once reaped).
 */
export interface BenchStack {
  url: string;
  /** CPU seconds the agent's cgroup has used so far. */
  agentCpuSeconds(): number;
  agentCgroup: string;
  post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  get(path: string): Promise<{ status: number; json: Record<string, unknown> }>;
  waitFor(id: string, timeoutMs: number): Promise<Investigation>;
  stop(): Promise<void>;
}

export async function startBenchStack(): Promise<BenchStack> {
  const parts: Stoppable[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'th-bench-incidents-'));
  let agent: ChildProcess | undefined;
  let agentCg: TestCgroup | undefined;
  const stop = async () => {
    agent?.kill('SIGTERM');
    if (agent && agent.exitCode === null) await Promise.race([new Promise((r) => agent!.once('exit', r)), sleep(10_000)]);
    agentCg?.remove(); // kills whatever the agent left (it should have left nothing)
    for (const p of parts.reverse()) await p.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const redis = await startEmbeddedRedis({ host: '127.0.0.1', port: 0, dataDir: join(dataDir, 'redis') });
    parts.push({ name: 'redis', stop: redis.stop });
    const s3 = await startEmbeddedS3({ dataDir: join(dataDir, 's3'), bucket: 'tracehound-bench', port: 0, silent: true });
    parts.push({ name: 's3', stop: s3.stop });
    const env: Record<string, string> = {
      REDIS_URL: redis.url,
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: 'tracehound-bench',
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      QUEUE_PREFIX: 'th-bench-incidents',
      NODE_NAME: BENCH_NODE,
      NODE_HEARTBEAT: '1s',
    };
    const config = loadConfig({ PORT: '0', LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', DATA_DIR: join(dataDir, 'api'), ACCESS_FILE: '', RATE_LIMIT: '100000/1m', ...env });
    const log = createLogger(config.LOG_LEVEL);
    const services = await startServices(config, log);
    parts.push(...services.owned);
    const api = await startApi(config, services, log);
    parts.push(api);
    parts.push(await startOrchestratorPart(config, services, log, { publicUrl: api.url, apiTokens: api.tokens }));
    services.storage.start(); // as entry/cli.ts does once its parts are up
    // No ACCESS_FILE: the API made an admin token for this run, as `npm start` does.
    const token = api.generatedToken?.token;
    if (!token) throw new Error('the API generated no admin token');
    const auth = { authorization: `Bearer ${token}` };

    agentCg = createTestCgroup('bench-agent');
    agent = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', agentCg.dir, process.execPath, BIN, 'agent'], {
      env: { ...process.env, ...env, DATA_DIR: join(dataDir, 'agent'), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const cpuStat = join(agentCg.dir, 'cpu.stat');

    const get: BenchStack['get'] = async (path) => {
      const res = await fetch(`${api.url}${path}`, { headers: auth });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const stack: BenchStack = {
      url: api.url,
      agentCgroup: agentCg.path,
      agentCpuSeconds: () => Number(/^usage_usec (\d+)$/m.exec(readFileSync(cpuStat, 'utf8'))?.[1]) / 1e6,
      get,
      async post(path, body) {
        const res = await fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(body) });
        const text = await res.text();
        return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
      },
      async waitFor(id, timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const inv = (await get(`/v1/investigations/${id}`)).json as unknown as Investigation;
          if (['succeeded', 'failed', 'cancelled'].includes(inv.status)) return inv;
          if (Date.now() > deadline) throw new Error(`${id} still ${inv.status} after ${timeoutMs / 1000} s`);
          await sleep(50);
        }
      },
      stop,
    };
    for (let i = 0; ; i++) {
      const nodes = (await get('/v1/nodes')).json.items as { name: string }[] | undefined;
      if (nodes?.some((n) => n.name === BENCH_NODE)) break;
      if (agent.exitCode !== null) throw new Error(`the agent exited (${agent.exitCode}) before it registered`);
      if (i > 300) throw new Error('the agent did not register within 30 s');
      await sleep(100);
    }
    return stack;
  } catch (err) {
    await stop();
    throw err;
  }
}
