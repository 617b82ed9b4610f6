import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { documentPath, openApiDocument } from '../../src/api/openapi.ts';
import { defineRoute, jsonResponse, problemResponse } from '../../src/api/route.ts';
import { ROUTES } from '../../src/api/route-table.ts';
import { Investigation, InvestigationRequest } from '../../src/core/investigation.ts';

type Op = {
  summary: string;
  parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  security: unknown[];
  'x-required-scope'?: string;
};
type Doc = { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, unknown> } };

const ok = () => new Response(null, { status: 204 });

/** Every `$ref` in a JSON value. */
const refs = (v: unknown): string[] =>
  Array.isArray(v) ? v.flatMap(refs) : v && typeof v === 'object' ? Object.entries(v).flatMap(([k, x]) => (k === '$ref' && typeof x === 'string' ? [x] : refs(x))) : [];

describe('OpenAPI document', () => {
  it("writes Hono's path patterns as OpenAPI paths", () => {
    expect(documentPath('/v1/investigations/:id/diff/:otherId')).toBe('/v1/investigations/{id}/diff/{otherId}');
    expect(documentPath('/v1/investigations/:id/artifacts/*')).toBe('/v1/investigations/{id}/artifacts/{path}');
    expect(documentPath('/healthz')).toBe('/healthz');
  });

  it('describes a route from its definition alone: parameters, body, responses, implied errors and security', () => {
    const route = defineRoute({
      method: 'POST',
      path: '/v1/things/:id/runs',
      access: 'investigations:write',
      summary: 'Run a thing',
      params: z.object({ id: z.string().regex(/^t_\d+$/) }),
      query: z.object({ dry: z.enum(['true', 'false']).default('false'), note: z.string().optional(), who: z.string() }),
      body: { schema: InvestigationRequest, mediaType: 'application/json', invalid: 'invalid run' },
      responses: { 202: jsonResponse('started', z.object({ run: Investigation })), 409: problemResponse('already running') },
      handle: ok,
    });
    const doc = openApiDocument([route]) as unknown as Doc;
    expect(Object.keys(doc.paths)).toEqual(['/v1/things/{id}/runs']);
    const op = doc.paths['/v1/things/{id}/runs']!.post!;
    expect(op.summary).toBe('Run a thing');
    expect(op.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^t_\\d+$' } },
      { name: 'dry', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'], default: 'false' } },
      { name: 'note', in: 'query', required: false, schema: { type: 'string' } },
      { name: 'who', in: 'query', required: true, schema: { type: 'string' } },
    ]);
    expect(op.requestBody).toEqual({ required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/InvestigationRequest' } } } });
    expect(Object.keys(op.responses).sort()).toEqual(['202', '400', '401', '403', '409', '413']);
    expect(op.responses['202']!.content!['application/json']!.schema).toMatchObject({
      type: 'object',
      properties: { run: { $ref: '#/components/schemas/Investigation' } },
      required: ['run'],
    });
    expect(op.responses['409']).toEqual({ description: 'already running', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
    expect(op.security).toEqual([{ bearer: [] }]);
    expect(op['x-required-scope']).toBe('investigations:write');
    // Only what the route refers to is named, each as the side that uses it sees it.
    expect(Object.keys(doc.components.schemas).sort()).toEqual(['Investigation', 'InvestigationRequest', 'Problem']);
    expect((doc.components.schemas.InvestigationRequest as { required?: string[] }).required ?? []).not.toContain('params');
  });

  it('documents the routing a started investigation answers with', () => {
    const doc = openApiDocument(ROUTES) as unknown as Doc;
    const accepted = doc.paths['/v1/investigations']!.post!.responses['202']!.content!['application/json']!.schema as {
      required: string[];
      properties: { routing: { required: string[]; properties: { alternatives: { maxItems: number } } } };
    };
    expect(accepted.required).toContain('routing');
    expect(accepted.properties.routing.required.sort()).toEqual(['alternatives', 'confident', 'playbook', 'score', 'why']);
    expect(accepted.properties.routing.properties.alternatives.maxItems).toBe(3);
  });

  it('has every route of the table, and every reference resolves', () => {
    const doc = openApiDocument(ROUTES) as unknown as Doc;
    const described = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(described.sort()).toEqual(ROUTES.map((r) => `${r.method} ${documentPath(r.path)}`).sort());
    for (const route of ROUTES) {
      const op = doc.paths[documentPath(route.path)]![route.method.toLowerCase()]!;
      for (const [status, response] of Object.entries(route.responses)) {
        expect(op.responses[status]?.description, `${route.method} ${route.path} ${status}`).toBe(response.description);
        expect(Object.keys(op.responses[status]?.content ?? {})).toEqual(Object.keys(response.content ?? {}));
      }
    }
    for (const ref of new Set(refs(doc))) {
      expect(ref).toMatch(/^#\/components\/schemas\/[A-Z]\w+$/);
      expect(doc.components.schemas[ref.split('/').pop()!], ref).toBeDefined();
    }
  });
});
