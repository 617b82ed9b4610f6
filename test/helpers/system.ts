import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { inject } from 'vitest';
import { generateToken, hashToken } from '../../src/auth/tokens.ts';
import type { Scope } from '../../src/auth/identity.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startAgentPart } from '../../entry/agent.ts';
import { startApi } from '../../entry/api-server.ts';
import { startOrchestratorPart } from '../../entry/orchestrator.ts';
import { startServices } from '../../entry/services.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { uniquePrefix } from './services.ts';

export const TEST_LINK_SECRET = 'tracehound-test-link-secret-0123456789';

export interface TestToken {
  name: string;
  scopes: Scope[];
  namespaces?: string[];
  playbooks?: string[];
}

export interface TestSystem {
  url: string;
  /** Bearer tokens by name: "admin" always, plus the ones asked for. */
  tokens: Record<string, string>;
  /** Every route the API registered (method, Hono path pattern). */
  routes: { method: string; path: string }[];
  config: Config;
  /** The environment that points another process (e.g. `tracehound agent`) at this system's Redis, S3 and prefix. */
  env: Record<string, string>;
  stop(): Promise<void>;
  /** As admin unless `token` names another (or is null: no credentials). */
  post(path: string, body: unknown, opts?: { token?: string | null }): Promise<{ status: number; json: Record<string, unknown> }>;
  get(path: string, opts?: { token?: string | null }): Promise<{ status: number; json: Record<string, unknown>; text: string; contentType: string | null }>;
  /** Stops the orchestrator and starts a fresh one, as a crash and reschedule would. */
  restartOrchestrator(pauseMs?: number): Promise<void>;
  /** Polls until the investigation satisfies `until` (default: it ended). */
  waitFor(id: string, until?: (inv: Investigation) => boolean, timeoutMs?: number): Promise<Investigation>;
}

/**
 * The whole service as `npm start` assembles it, against the run's real Redis and S3, in its own queue prefix.
 * `parts` picks which parts run (API-only tests leave investigations queued).
 */
export async function startSystem(
  opts: { parts?: ('api' | 'orchestrator' | 'agent')[]; env?: Record<string, string>; tokens?: TestToken[]; slackRules?: unknown[] } = {},
): Promise<TestSystem> {
  const s3 = inject('s3');
  const prefix = uniquePrefix('sys');
  // Real tokens through a real ACCESS_FILE, as an operator would configure them.
  const tokens: Record<string, string> = {};
  const entries = [{ name: 'admin', scopes: ['admin'] as Scope[] }, ...(opts.tokens ?? [])].map((t) => {
    tokens[t.name] = generateToken();
    return { ...t, sha256: hashToken(tokens[t.name]!) };
  });
  const accessFile = join(tmpdir(), `th-access-${prefix}.yaml`);
  writeFileSync(accessFile, stringify({ tokens: entries, ...(opts.slackRules ? { slack: { rules: opts.slackRules } } : {}) }));
  const env: Record<string, string> = {
    REDIS_URL: inject('redisUrl'),
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    QUEUE_PREFIX: prefix,
    NODE_HEARTBEAT: '1s',
    ACCESS_FILE: accessFile,
    DATA_DIR: join(tmpdir(), `th-data-${prefix}`),
    RATE_LIMIT: '1000/1m',
    LINK_SECRET: TEST_LINK_SECRET,
  };
  const config = loadConfig({ PORT: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', NODE_NAME: 'test-node', ...env, ...opts.env });
  const log = createLogger(config.LOG_LEVEL);
  const services = await startServices(config, log);
  const want = opts.parts ?? ['api', 'orchestrator', 'agent'];
  const agent = want.includes('agent') ? await startAgentPart(config, services, log) : null;
  const api = await startApi(config, services, log);
  let orchestrator = want.includes('orchestrator') ? await startOrchestratorPart(config, services, log, { publicUrl: api.url, apiTokens: api.tokens }) : null;
  services.storage.start(); // as entry/cli.ts does once its parts are up

  const auth = (token: string | null | undefined): Record<string, string> => {
    const t = token === undefined ? tokens.admin : token === null ? null : (tokens[token] ?? token);
    return t ? { authorization: `Bearer ${t}` } : {};
  };
  const get: TestSystem['get'] = async (path, o = {}) => {
    const res = await fetch(`${api.url}${path}`, { headers: auth(o.token) });
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
    tokens,
    routes: api.routes,
    config,
    env,
    get,
    async post(path, body, o = {}) {
      const res = await fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth(o.token) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
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
      orchestrator = await startOrchestratorPart(config, services, log, { publicUrl: api.url, apiTokens: api.tokens });
    },
    async stop() {
      for (const p of [api, orchestrator, agent]) await p?.stop();
      await services.store.close();
      rmSync(accessFile, { force: true }); // holds token hashes: nothing of a test run stays in /tmp
    },
  };
}
