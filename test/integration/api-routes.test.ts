import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Problem } from '../../src/api/problem.ts';
import { ROUTES } from '../../src/api/route-table.ts';
import { SLACK_SECRET, slashCommand } from '../helpers/slack.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

type Op = {
  parameters?: { name: string; in: string; required: boolean; schema?: object }[];
  requestBody?: { content: Record<string, { schema?: object }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: object }> }>;
};
type Doc = { openapi: string; paths: Record<string, Record<string, Op>> };

/** Hono's pattern as OpenAPI writes it, spelt out here apart from src so that the two are checked, not shared. */
const asDocumentPath = (pattern: string) => pattern.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{path}');
const paramsOf = (docPath: string) => [...docPath.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);

/**
 * The API as it runs: every route registered on the Hono app (app.routes) is in the document it serves, with its
 * method, parameters and responses; every operation of the document is served, and answers as it says.
 */
describe('routes and their OpenAPI document', () => {
  let sys: TestSystem;
  let doc: Doc;
  let invId = '';

  beforeAll(async () => {
    sys = await startSystem({ parts: ['api'] });
    const started = await sys.post('/v1/investigations', { playbook: 'cpu-profile', target: { node: 'test-node' } });
    expect(started.status).toBe(202);
    invId = started.json.id as string;
    const res = await sys.get('/openapi.json');
    expect(res.status).toBe(200);
    doc = res.json as unknown as Doc;
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('describes every registered route with its method, path parameters and response schemas', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(sys.routes.length).toBeGreaterThanOrEqual(22);
    for (const r of sys.routes) {
      const where = `${r.method} ${r.path}`;
      const op = doc.paths[asDocumentPath(r.path)]?.[r.method.toLowerCase()];
      expect(op, where).toBeDefined();
      const inPath = (op!.parameters ?? []).filter((p) => p.in === 'path');
      expect(inPath.map((p) => p.name), where).toEqual(paramsOf(asDocumentPath(r.path)));
      for (const p of op!.parameters ?? []) expect(p.schema, `${where} ${p.name}`).toEqual(expect.any(Object));
      const statuses = Object.keys(op!.responses);
      // A success, or for a route that only refuses (GET /mcp: MCP's stateless transport has no stream), its 405.
      expect(statuses.some((s) => s.startsWith('2') || s === '405'), where).toBe(true);
      for (const [status, response] of Object.entries(op!.responses)) {
        expect(response.description, `${where} ${status}`).toEqual(expect.any(String));
        for (const [mediaType, media] of Object.entries(response.content ?? {})) {
          expect(media.schema, `${where} ${status} ${mediaType}`).toEqual(expect.any(Object));
          if (!status.startsWith('2')) expect(mediaType, `${where} ${status}`).toBe('application/problem+json');
        }
      }
      for (const media of Object.values(op!.requestBody?.content ?? {})) expect(media.schema, where).toEqual(expect.any(Object));
    }
    // The routes the hand-kept document of before left out.
    const described = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    for (const route of [
      'GET /v1/investigations/{id}/report',
      'GET /v1/investigations/{id}/diff/{otherId}',
      'GET /v1/playbooks',
      'GET /v1/playbooks/{name}',
      'GET /v1/nodes',
      'GET /openapi.json',
    ]) {
      expect(described).toContain(route);
    }
    expect(described.sort()).toEqual(sys.routes.map((r) => `${r.method} ${asDocumentPath(r.path)}`).sort());
  });

  it('serves every operation of the document, answering with a status and body it declares', async () => {
    const concrete = (path: string) =>
      path.replace('{id}', invId).replace('{otherId}', invId).replace('{path}', 'errors/test-node/result.json').replace('{name}', 'enospc');
    const answered: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        const res = await fetch(`${sys.url}${concrete(path)}`, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${sys.tokens.admin}`, 'content-type': 'application/json' },
          ...(method === 'post' ? { body: '{}' } : {}),
        });
        const mediaType = res.headers.get('content-type')?.split(';')[0] ?? null;
        // An event stream stays open while the investigation runs: its status line and type are the answer here.
        const body = mediaType === 'text/event-stream' ? (await res.body?.cancel(), null) : await res.text();
        const status = String(res.status);
        expect(Object.keys(op.responses), `${where} answered ${status}: ${body}`).toContain(status);
        if (mediaType !== null) expect(Object.keys(op.responses[status]!.content ?? {}), `${where} ${status}`).toContain(mediaType);
        if (mediaType === 'application/json' || mediaType === 'application/problem+json') {
          const route = ROUTES.find((r) => r.method === method.toUpperCase() && asDocumentPath(r.path) === path);
          const schema = route?.responses[res.status]?.content?.[mediaType] ?? (mediaType === 'application/problem+json' ? Problem : undefined);
          const parsed = schema?.safeParse(JSON.parse(body!));
          expect(parsed?.success, `${where} ${status}: ${body} — ${parsed?.error?.message}`).toBe(true);
          if (mediaType === 'application/problem+json') expect(JSON.parse(body!).detail).not.toMatch(/^no route /);
        }
        answered.push(`${where} ${status}`);
      }
    }
    // Successes with bodies checked against their schemas, not only refusals.
    for (const success of ['GET /v1/investigations 200', 'GET /v1/investigations/{id} 200', 'GET /v1/playbooks 200', 'GET /v1/playbooks/{name} 200', 'GET /v1/nodes 200', 'GET /v1/audit 200', 'GET /readyz 200']) {
      expect(answered).toContain(success);
    }
  });

  it('answers the chat and alert endpoints, once configured, with the bodies their definitions declare', async () => {
    const bearer = 'alertmanager-bearer-secret-0123';
    const configured = await startSystem({
      parts: ['api'],
      env: { SLACK_SIGNING_SECRET: SLACK_SECRET, ALERT_RULES_FILE: new URL('../fixtures/alertmanager/rules.yaml', import.meta.url).pathname, ALERTMANAGER_BEARER_TOKEN: bearer },
    });
    try {
      const declared = (method: string, path: string, status: number) =>
        ROUTES.find((r) => r.method === method && r.path === path)!.responses[status]!.content!['application/json']!;
      const help = await slashCommand(configured.url, 'help', { responseUrl: 'https://hooks.slack.com/commands/T0001/1/x' });
      expect(help.status).toBe(200);
      expect(declared('POST', '/v1/chatops/slack/commands', 200).safeParse(help.json).error).toBeUndefined();
      const alerts = await fetch(`${configured.url}/v1/webhooks/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        body: readFileSync(new URL('../fixtures/alertmanager/node-firing.json', import.meta.url), 'utf8'),
      });
      expect(alerts.status).toBe(200);
      const outcome = (await alerts.json()) as { started: unknown[]; failed: unknown[] };
      expect(outcome.started.length + outcome.failed.length).toBeGreaterThan(0);
      expect(declared('POST', '/v1/webhooks/alertmanager', 200).safeParse(outcome).error).toBeUndefined();
    } finally {
      await configured.stop();
    }
  });
});
