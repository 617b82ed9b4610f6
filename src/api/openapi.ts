import { z } from 'zod';
import { AlertmanagerPayload } from '../alerts/payload.ts';
import { AuditEntry } from '../audit/audit-log.ts';
import { Investigation, InvestigationRequest } from '../core/investigation.ts';
import { NodeInfo } from '../inventory/node-registry.ts';
import { ScheduleView } from '../schedules/schedule-store.ts';
import { ScheduleRequest } from '../schedules/schedule.ts';
import { Problem } from './problem.ts';
import { pathParams, WILDCARD_PARAM, type ResponseSpec, type Route } from './route.ts';

/** Schemas the document names (components.schemas) rather than writing out in every operation that uses them. */
const NAMED: Record<string, z.ZodType> = { InvestigationRequest, Investigation, ScheduleRequest, ScheduleView, AuditEntry, AlertmanagerPayload, NodeInfo, Problem };

type Json = Record<string, unknown>;

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });

/** Hono's `/v1/investigations/:id/artifacts/*` as OpenAPI's `/v1/investigations/{id}/artifacts/{path}`. */
export const documentPath = (path: string): string =>
  path
    .split('/')
    .map((seg) => (seg.startsWith(':') ? `{${seg.slice(1)}}` : seg === '*' ? `{${WILDCARD_PARAM}}` : seg))
    .join('/');

/**
 * One JSON Schema conversion (request side as clients write it, response side as the server writes it) of every
 * schema the routes use, registered under an id so that named schemas become `$ref`s to components.schemas.
 */
class Converter {
  private readonly registry = z.registry<{ id: string }>();
  private readonly ids = new Map<z.ZodType, string>();
  private converted: Record<string, Json> | undefined;

  constructor(private readonly io: 'input' | 'output') {
    for (const [id, schema] of Object.entries(NAMED)) this.add(schema, id);
  }

  /** Registers a schema; returns the id its JSON Schema will have. */
  add(schema: z.ZodType, id = `_${this.ids.size}`): string {
    const known = this.ids.get(schema);
    if (known) return known;
    this.ids.set(schema, id);
    this.registry.add(schema, { id });
    return id;
  }

  /** The JSON Schema of a registered schema: a `$ref` for a named one, written out otherwise. */
  get(id: string): Json {
    if (id in NAMED) return { $ref: `#/components/schemas/${id}` };
    return this.inline(this.all()[id]!) as Json;
  }

  /**
   * Writes out the references to unnamed schemas: one route's schema used inside another's (a playbook inside the
   * list of playbooks) is a registered schema too, so zod refers to it by its made-up id.
   */
  inline(json: unknown): unknown {
    if (Array.isArray(json)) return json.map((v) => this.inline(v));
    if (!json || typeof json !== 'object') return json;
    const ref = (json as Json).$ref;
    const id = typeof ref === 'string' ? /^#\/components\/schemas\/(_\d+)$/.exec(ref)?.[1] : undefined;
    if (id !== undefined) return this.inline(this.all()[id]);
    return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, this.inline(v)]));
  }

  all(): Record<string, Json> {
    this.converted ??= Object.fromEntries(
      Object.entries(z.toJSONSchema(this.registry, { io: this.io, target: 'draft-2020-12', unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` }).schemas).map(
        ([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema as Json],
      ),
    );
    return this.converted;
  }
}

/** The names of the components a JSON value refers to, with those they refer to in turn. */
function referenced(value: unknown, components: Record<string, Json>, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => referenced(v, components, into));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const name = k === '$ref' && typeof v === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(v)?.[1] : undefined;
      if (name !== undefined && !into.has(name)) {
        into.add(name);
        referenced(components[name], components, into);
      } else referenced(v, components, into);
    }
  }
  return into;
}

/** The errors every route of its kind can answer, from what it declares: input to check, a token, a body. */
function impliedResponses(route: Route): Json {
  const out: Json = {};
  if ((route.params && route.unknownAs === undefined) || route.query || route.body) out[400] = problem('invalid request; errors[] names each bad field');
  if (route.access !== 'public' && route.access !== 'slack' && route.access !== 'alertmanager') {
    out[401] = problem('no or bad token');
    out[403] = problem(`the token lacks the ${route.access} scope`);
  }
  if (route.body) out[413] = problem(route.access === 'slack' ? 'body over CHATOPS_BODY_LIMIT' : 'body over API_BODY_LIMIT');
  return out;
}

function security(route: Route): Json {
  switch (route.access) {
    case 'public':
      return { security: [] };
    case 'slack':
      return { security: [{ slackSignature: [] }] };
    case 'alertmanager':
      return { security: [{ alertmanager: [] }, { bearer: [] }] };
    default:
      return { security: [{ bearer: [] }], 'x-required-scope': route.access };
  }
}

/**
 * OpenAPI 3.1 of every route in the table that serves them (src/api/route-table.ts): paths, parameters, request
 * bodies and responses from the zod schemas that check requests, security from each route's access.
 */
export function openApiDocument(routes: readonly Route[]) {
  const input = new Converter('input');
  const output = new Converter('output');
  const pending = routes.map((route) => ({
    route,
    params: route.params ? input.add(route.params) : undefined,
    query: route.query ? input.add(route.query) : undefined,
    body: route.body ? input.add(route.body.schema) : undefined,
    responses: Object.entries(route.responses).map(([status, r]: [string, ResponseSpec]) => ({
      status,
      description: r.description,
      content: Object.entries(r.content ?? {}).map(([mediaType, schema]) => ({ mediaType, id: output.add(schema) })),
    })),
  }));

  const paths: Record<string, Record<string, Json>> = {};
  // What each side wrote, to pick the components each refers to from that side's conversion.
  const written = { input: [] as Json[], output: [] as Json[] };
  for (const p of pending) {
    const { route } = p;
    const parameters = [
      ...(p.params ? parametersOf(input.get(p.params), 'path', pathParams(route.path)) : []),
      ...(p.query ? parametersOf(input.get(p.query), 'query') : []),
    ];
    const responses = impliedResponses(route);
    written.input.push({ parameters });
    written.output.push(responses);
    for (const r of p.responses) {
      responses[r.status] = {
        description: r.description,
        ...(r.content.length ? { content: Object.fromEntries(r.content.map((c) => [c.mediaType, { schema: output.get(c.id) }])) } : {}),
      };
    }
    const requestBody = p.body && route.body ? { required: true, content: { [route.body.mediaType]: { schema: input.get(p.body) } } } : undefined;
    if (requestBody) written.input.push(requestBody);
    (paths[documentPath(route.path)] ??= {})[route.method.toLowerCase()] = {
      summary: route.summary,
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
      ...security(route),
    };
  }

  // Named schemas are written once, as the side that uses them sees them; used on both sides they must agree.
  const components: Record<string, Json> = {};
  for (const [side, parts] of [
    [input, written.input],
    [output, written.output],
  ] as const) {
    const all = side.all();
    for (const name of referenced(parts, all)) {
      const schema = side.inline(all[name]) as Json;
      if (name in components && JSON.stringify(components[name]) !== JSON.stringify(schema)) {
        throw new Error(`schema ${name} reads differently in requests and in responses: name each side apart`);
      }
      components[name] = schema;
    }
  }
  return {
    openapi: '3.1.0' as const,
    info: { title: 'tracehound', version: '1', description: 'Incident investigations with time-boxed BPF captures.' },
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (ACCESS_FILE); signed links (?exp=&sig=) open reports and artifacts' },
        alertmanager: { type: 'http', scheme: 'basic' },
        slackSignature: { type: 'apiKey', in: 'header', name: 'X-Slack-Signature' },
      },
    },
  };
}

/** An object schema's properties as OpenAPI parameters, in the path's order for path parameters. */
function parametersOf(schema: Json, where: 'path' | 'query', order?: string[]): Json[] {
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  const names = order ?? Object.keys(properties);
  return names.map((name) => ({ name, in: where, required: where === 'path' || required.has(name), schema: properties[name] }));
}
