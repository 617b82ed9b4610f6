/**
 * The MCP interface (issue #16 item 5) through the SDK's own client, over both transports — `tracehound mcp` on
 * stdio (the built bin, a separate process speaking HTTP to the API) and POST /mcp on the API — against a whole
 * real stack: real Redis and S3, the orchestrator, and an agent running real bpftrace captures on this host.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newInvestigationId } from '../../src/core/ids.ts';
import { isTerminal, type Finding, type Investigation } from '../../src/core/investigation.ts';
import { ARTIFACT_PAGE_MAX } from '../../src/mcp/artifact-page.ts';
import { INVESTIGATION_VIEW_BUDGET } from '../../src/mcp/investigation-view.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { InvestigationRecords } from '../../src/records/investigation-records.ts';
import { testRedisUrl } from '../helpers/services.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

const BIN = fileURLToPath(new URL('../../bin/tracehound.mjs', import.meta.url));
const TOOLS = ['cancel_investigation', 'get_artifact', 'get_investigation', 'list_playbooks', 'start_investigation'];

type View = {
  id: string;
  status: Investigation['status'];
  playbook: string;
  headline: string | null;
  routing?: { playbook: string; why: string };
  findings: (Pick<Finding, 'severity' | 'title' | 'confidence' | 'evidence'> | string)[];
  steps: ({ id: string; status: string; tool: string; node: string | null; error?: string } | string)[];
  artifacts: ({ name: string; contentType: string; size: number } | string)[];
};

const textOf = (r: CallToolResult, i = 0) => {
  const part = r.content[i];
  if (part?.type !== 'text') throw new Error(`no text part ${i}: ${JSON.stringify(r).slice(0, 500)}`);
  return part.text;
};
const jsonOf = <T>(r: CallToolResult): T => {
  expect(r.isError, textOf(r)).toBeFalsy();
  return JSON.parse(textOf(r)) as T;
};
const call = async (client: Client, name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult;

/**
 * `bin/tracehound.mjs` rebuilds dist/ first when a source changed since the run's build (a second or two, longer on a
 * busy machine): the stdio client's start and the refusals below allow for it.
 */
const BIN_START_MS = 120_000;

describe('MCP', { timeout: 3 * BIN_START_MS }, () => {
  let sys: TestSystem;
  const redis = createRedis(testRedisUrl());
  const open: Client[] = [];

  beforeAll(async () => {
    sys = await startSystem({
      tokens: [
        { name: 'reader', scopes: ['investigations:read'] },
        { name: 'writer', scopes: ['investigations:read', 'investigations:write'] },
      ],
    });
  });
  afterAll(async () => {
    for (const c of open) await c.close().catch(() => undefined);
    await sys?.stop();
    redis.disconnect();
  });

  const transports = {
    stdio: (token: string) =>
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'mcp'],
        env: { PATH: process.env.PATH!, TRACEHOUND_URL: sys.url, TRACEHOUND_TOKEN: token },
        stderr: 'pipe',
      }),
    http: (token: string | null) =>
      new StreamableHTTPClientTransport(new URL(`${sys.url}/mcp`), { requestInit: { headers: token ? { authorization: `Bearer ${token}` } : {} } }),
  };
  const connect = async (kind: keyof typeof transports, tokenName: string) => {
    const client = new Client({ name: 'tracehound-test', version: '1.0.0' });
    await client.connect(transports[kind](sys.tokens[tokenName] ?? tokenName), { timeout: BIN_START_MS });
    open.push(client);
    return client;
  };

  /** Polls get_investigation (the tool, not the API) until the investigation ends. */
  const untilEnded = async (client: Client, id: string, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await call(client, 'get_investigation', { id });
      expect(Buffer.byteLength(textOf(r))).toBeLessThanOrEqual(INVESTIGATION_VIEW_BUDGET);
      const view = jsonOf<View>(r);
      if (isTerminal(view.status)) return view;
      if (Date.now() > deadline) throw new Error(`${id} still ${view.status} after ${timeoutMs} ms`);
      await new Promise((ok) => setTimeout(ok, 250));
    }
  };

  describe.each(['stdio', 'http'] as const)('over %s', (kind) => {
    let client: Client;
    let finished: View;

    beforeAll(async () => {
      client = await connect(kind, 'writer');
    }, BIN_START_MS);

    it('lists the five tools, with the API request schema as start_investigation input', async () => {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
      const start = tools.find((t) => t.name === 'start_investigation')!;
      expect(Object.keys(start.inputSchema.properties ?? {}).sort()).toEqual(['params', 'playbook', 'symptom', 'target']);
      const artifact = tools.find((t) => t.name === 'get_artifact')!;
      expect(artifact.inputSchema.properties).toMatchObject({ limit: { maximum: ARTIFACT_PAGE_MAX } });
    });

    it('list_playbooks answers the playbooks this API runs, with their parameters', async () => {
      const answer = await call(client, 'list_playbooks');
      expect(Buffer.byteLength(textOf(answer))).toBeLessThanOrEqual(INVESTIGATION_VIEW_BUDGET);
      const { playbooks } = jsonOf<{ playbooks: { name: string; parameters: { properties?: Record<string, unknown> } }[] }>(answer);
      const api = await sys.get('/v1/playbooks');
      expect(playbooks.map((p) => p.name).sort()).toEqual((api.json.items as { name: string }[]).map((p) => p.name).sort());
      expect(playbooks.find((p) => p.name === 'file-errors')?.parameters.properties).toHaveProperty('duration');
    });

    it('starts a 1 s file-errors capture on this host and follows it to its findings with get_investigation', async () => {
      const started = jsonOf<{ id: string; status: string; playbook: string; routing?: { playbook: string } }>(
        await call(client, 'start_investigation', { playbook: 'file-errors', target: { node: 'test-node' }, params: { duration: '1s' } }),
      );
      expect(started.playbook).toBe('file-errors');
      // The orchestrator may have taken it already between the start and the read of its record.
      expect(['queued', 'running']).toContain(started.status);
      expect(started.routing).toMatchObject({ playbook: 'file-errors' });
      finished = await untilEnded(client, started.id);
      expect(finished.status, JSON.stringify(finished)).toBe('succeeded');
      expect(finished.headline).toEqual(expect.any(String));
      const steps = finished.steps.filter((s) => typeof s !== 'string');
      expect(steps.map((s) => `${s.id} ${s.tool} ${s.node} ${s.status}`).sort(), JSON.stringify(finished)).toEqual(['errors syscount test-node succeeded', 'opens opensnoop test-node succeeded']);
      // Never a raw dump: a step is what it is, its result is an artifact.
      for (const s of steps) expect(Object.keys(s).sort()).toEqual(['id', 'node', 'status', 'tool']);
      for (const f of finished.findings) {
        if (typeof f === 'string') continue;
        expect(f.confidence.level).toMatch(/^(high|medium|low)$/);
        expect(f.confidence.reason.length).toBeGreaterThan(0);
        for (const e of f.evidence) if (typeof e !== 'string') expect(finished.artifacts.some((a) => typeof a !== 'string' && a.name === e.artifact), e.artifact).toBe(true);
      }
      const direct = await sys.get(`/v1/investigations/${started.id}`);
      expect(direct.json.summary).toMatchObject({ headline: finished.headline });
    });

    it('get_artifact reads a text artifact page by page, the pages making up its bytes exactly', async () => {
      const texts = finished.artifacts.filter((a): a is Exclude<typeof a, string> => typeof a !== 'string' && /json|text/.test(a.contentType));
      const biggest = texts.sort((a, b) => b.size - a.size)[0]!;
      expect(biggest.size).toBeGreaterThan(600);
      const limit = Math.min(ARTIFACT_PAGE_MAX, Math.ceil(biggest.size / 3));
      const pages: string[] = [];
      let offset: number | null = 0;
      while (offset !== null) {
        const r = await call(client, 'get_artifact', { id: finished.id, path: biggest.name, offset, limit });
        expect(r.isError, textOf(r)).toBeFalsy();
        const where = JSON.parse(textOf(r, 0)) as { offset: number; length: number; size: number; nextOffset: number | null };
        expect(where.offset).toBe(offset);
        expect(where.length).toBeLessThanOrEqual(limit);
        expect(where.size).toBe(biggest.size);
        pages.push(textOf(r, 1));
        offset = where.nextOffset;
        expect(pages.length).toBeLessThanOrEqual(Math.ceil(biggest.size / limit) + 1);
      }
      expect(pages.length).toBeGreaterThanOrEqual(3);
      const whole = await fetch(`${sys.url}/v1/investigations/${finished.id}/artifacts/${biggest.name}`, { headers: { authorization: `Bearer ${sys.tokens.admin}` } });
      expect(pages.join('')).toBe(await whole.text());
      // A page past the end is empty and says so; an unknown name is a tool error naming what there is.
      const past = await call(client, 'get_artifact', { id: finished.id, path: biggest.name, offset: biggest.size + 10 });
      expect(JSON.parse(textOf(past, 0))).toMatchObject({ length: 0, nextOffset: null });
      const unknown = await call(client, 'get_artifact', { id: finished.id, path: 'nope/test-node/result.json' });
      expect(unknown.isError).toBe(true);
      expect(textOf(unknown)).toContain(biggest.name);
      // The page is bounded by the tool's own schema, before the API is asked.
      const tooBig = await call(client, 'get_artifact', { id: finished.id, path: biggest.name, limit: ARTIFACT_PAGE_MAX + 1 });
      expect(tooBig.isError).toBe(true);
    });

    it('cancel_investigation stops a long capture at once', async () => {
      const { id } = jsonOf<{ id: string }>(await call(client, 'start_investigation', { playbook: 'exec-storm', target: { node: 'test-node' }, params: { duration: '60s' } }));
      await sys.waitFor(id, (inv) => inv.steps.some((s) => s.status === 'running') || isTerminal(inv.status), 30_000);
      const t0 = Date.now();
      const cancelled = jsonOf<{ id: string; status: string }>(await call(client, 'cancel_investigation', { id }));
      expect(cancelled.id).toBe(id);
      const ended = await untilEnded(client, id, 30_000);
      expect(ended.status).toBe('cancelled');
      expect(Date.now() - t0).toBeLessThan(20_000);
      // Cancelling what has ended is the API's 409, as a tool error carrying its problem text.
      const again = await call(client, 'cancel_investigation', { id });
      expect(again.isError).toBe(true);
      expect(textOf(again)).toMatch(/409/);
    });

    it('a read-only token lists and reads, and is refused start and cancel with the API problem', async () => {
      const reader = await connect(kind, 'reader');
      expect(jsonOf<{ playbooks: unknown[] }>(await call(reader, 'list_playbooks')).playbooks.length).toBeGreaterThan(3);
      expect(jsonOf<View>(await call(reader, 'get_investigation', { id: finished.id })).status).toBe('succeeded');
      const refused = await call(reader, 'start_investigation', { playbook: 'file-errors', target: { node: 'test-node' } });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(/403 Forbidden: token:reader lacks the investigations:write scope/);
      const cancel = await call(reader, 'cancel_investigation', { id: finished.id });
      expect(textOf(cancel)).toMatch(/403 Forbidden/);
      const unknown = await call(reader, 'get_investigation', { id: newInvestigationId() });
      expect(unknown.isError).toBe(true);
      expect(textOf(unknown)).toMatch(/404 Not found: no investigation inv_/);
      // The request is checked by the API's own schema (src/core/investigation.ts), before the API is asked.
      const invalid = await call(reader, 'start_investigation', { target: { node: 'test-node' } });
      expect(invalid.isError).toBe(true);
      expect(textOf(invalid)).toMatch(/give a playbook, or a symptom/);
    });
  });

  it('refuses a binary artifact with a clear error, without downloading it', async () => {
    const client = await connect('http', 'writer');
    const { id } = jsonOf<{ id: string }>(await call(client, 'start_investigation', { playbook: 'cpu-profile', target: { node: 'test-node' }, params: { duration: '1s' } }));
    const view = await untilEnded(client, id);
    expect(view.status, JSON.stringify(view)).toBe('succeeded');
    const pprof = view.artifacts.find((a) => typeof a !== 'string' && a.name.endsWith('/profile.pb.gz'));
    expect(pprof).toBeDefined();
    const name = (pprof as { name: string }).name;
    const r = await call(client, 'get_artifact', { id, path: name });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/is binary \(application\/gzip, \d+ bytes\): get_artifact returns text only/);
    const folded = await call(client, 'get_artifact', { id, path: name.replace('profile.pb.gz', 'stacks.folded'), limit: 200 });
    expect(folded.isError, textOf(folded)).toBeFalsy();
  });

  it('without a token: /mcp is a 401 before any tool, and `tracehound mcp` refuses to start, naming the variable', async () => {
    const client = new Client({ name: 'tracehound-test', version: '1.0.0' });
    await expect(client.connect(transports.http(null))).rejects.toThrow(/401/);
    const bad = new Client({ name: 'tracehound-test', version: '1.0.0' });
    await expect(bad.connect(transports.http('th_not-a-real-token'))).rejects.toThrow(/401/);
    const r = spawnSync(process.execPath, [BIN, 'mcp'], { env: { PATH: process.env.PATH!, TRACEHOUND_URL: sys.url }, encoding: 'utf8', input: '', timeout: BIN_START_MS });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/TRACEHOUND_TOKEN: expected an API token/);
    const url = spawnSync(process.execPath, [BIN, 'mcp'], { env: { PATH: process.env.PATH!, TRACEHOUND_URL: 'localhost:8080', TRACEHOUND_TOKEN: 'x' }, encoding: 'utf8', input: '', timeout: BIN_START_MS });
    expect(url.status).toBe(2);
    expect(url.stderr).toMatch(/TRACEHOUND_URL: expected the API's URL/);
    // A token the API does not know: the client starts (the API may be down at first), each call says 401.
    const stdio = await connect('stdio', 'th_not-a-real-token');
    const refused = await call(stdio, 'list_playbooks');
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/401 Unauthorized: the bearer token is not valid/);
  });

  it('keeps get_investigation within its budget on a big investigation, saying what it left out', async () => {
    const records = new InvestigationRecords(redis, sys.config.QUEUE_PREFIX);
    const id = newInvestigationId();
    const long = (n: number) => 'x'.repeat(n);
    const nodes = Array.from({ length: 400 }, (_, i) => `node-${i}`);
    const big: Investigation = {
      id,
      status: 'succeeded',
      playbook: 'health-sweep',
      params: {},
      createdAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      requestedBy: 'token:admin',
      steps: nodes.flatMap((node) => ['errors', 'runq', 'io'].map((s) => ({ id: s, tool: 'syscount', node, status: 'failed' as const, reason: long(2000), artifacts: [] }))),
      summary: {
        headline: long(5000),
        findings: nodes.map((node) => ({
          severity: 'warning' as const,
          title: `${node}: ${long(1000)}`,
          detail: long(10_000),
          confidence: { level: 'medium' as const, reason: long(400) },
          evidence: Array.from({ length: 30 }, (_, i) => ({ artifact: `errors/${node}/result.json`, rows: [`/rows/${i}`], quote: long(300) })),
        })),
        notes: nodes.map((n) => `${n}: ${long(1000)}`),
      },
      artifacts: nodes.map((node) => ({ name: `errors/${node}/result.json`, key: `k/${node}`, contentType: 'application/json', size: 1000, url: `/x/${node}` })),
    };
    await records.create(big);
    expect((await sys.get(`/v1/investigations/${id}`)).text.length).toBeGreaterThan(10 * INVESTIGATION_VIEW_BUDGET);
    for (const kind of ['stdio', 'http'] as const) {
      const client = await connect(kind, 'reader');
      const r = await call(client, 'get_investigation', { id });
      const bytes = Buffer.byteLength(textOf(r));
      expect(bytes).toBeLessThanOrEqual(INVESTIGATION_VIEW_BUDGET);
      expect(bytes).toBeGreaterThan(INVESTIGATION_VIEW_BUDGET / 2);
      const view = jsonOf<View>(r);
      // Findings are kept longest; every cut list ends with its marker, counting all that was left out.
      const findings = view.findings.filter((f) => typeof f !== 'string');
      expect(findings.length).toBeGreaterThan(0);
      expect(view.findings.at(-1)).toBe(`… ${400 - findings.length} more findings not shown`);
      const steps = view.steps.filter((s) => typeof s !== 'string');
      expect(view.steps.at(-1)).toBe(`… ${1200 - steps.length} more steps not shown`);
      expect(view.artifacts.at(-1)).toMatch(/^… \d+ more artifacts not shown$/);
      expect((findings[0] as { evidence: unknown[] }).evidence.at(-1)).toBe('… 27 more evidence entries not shown');
      // Long findings do not push every step out: each list keeps its share.
      expect(steps.length).toBeGreaterThanOrEqual(8);
    }
  });
});
