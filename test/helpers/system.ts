import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startAgentPart, startApi, startOrchestratorPart, startServices } from '../../src/runtime.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { uniquePrefix } from './services.ts';

export interface TestSystem {
  url: string;
  config: Config;
  /** The environment that points another process (e.g. `tracehound agent`) at this system's Redis, S3 and prefix. */
  env: Record<string, string>;
  stop(): Promise<void>;
  post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  get(path: string): Promise<{ status: number; json: Record<string, unknown>; text: string; contentType: string | null }>;
  /** Stops the orchestrator and starts a fresh one, as a crash and reschedule would. */
  restartOrchestrator(pauseMs?: number): Promise<void>;
  /** Polls until the investigation satisfies `until` (default: it ended). */
  waitFor(id: string, until?: (inv: Investigation) => boolean, timeoutMs?: number): Promise<Investigation>;
}

/**
 * The whole service as `npm start` assembles it, against the run's real Redis and S3, in its own queue prefix.
 * `parts` picks which parts run (API-only tests leave investigations queued).
 */
export async function startSystem(opts: { parts?: ('api' | 'orchestrator' | 'agent')[]; env?: Record<string, string> } = {}): Promise<TestSystem> {
  const s3 = inject('s3');
  const env: Record<string, string> = {
    REDIS_URL: inject('redisUrl'),
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    QUEUE_PREFIX: uniquePrefix('sys'),
    NODE_HEARTBEAT: '1s',
  };
  const config = loadConfig({ PORT: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', NODE_NAME: 'test-node', ...env, ...opts.env });
  const log = createLogger(config.LOG_LEVEL);
  const services = await startServices(config, log);
  const want = opts.parts ?? ['api', 'orchestrator', 'agent'];
  const agent = want.includes('agent') ? await startAgentPart(config, services, log) : null;
  let orchestrator = want.includes('orchestrator') ? await startOrchestratorPart(config, services, log) : null;
  const api = await startApi(config, services, log);

  const get: TestSystem['get'] = async (path) => {
    const res = await fetch(`${api.url}${path}`);
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON (artifact bytes)
    }
    return { status: res.status, json, text, contentType: res.headers.get('content-type') };
  };
  return {
    url: api.url,
    config,
    env,
    get,
    async post(path, body) {
      const res = await fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
    async waitFor(id, until = (inv) => ['succeeded', 'failed', 'cancelled'].includes(inv.status), timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { json } = await get(`/v1/investigations/${id}`);
        const inv = json as unknown as Investigation;
        if (until(inv)) return inv;
        if (Date.now() > deadline) throw new Error(`timed out waiting on ${id}: ${JSON.stringify(inv).slice(0, 2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async restartOrchestrator(pauseMs = 0) {
      await orchestrator?.stop();
      await new Promise((r) => setTimeout(r, pauseMs));
      orchestrator = await startOrchestratorPart(config, services, log);
    },
    async stop() {
      for (const p of [api, orchestrator, agent]) await p?.stop();
      services.store.client.destroy();
    },
  };
}
