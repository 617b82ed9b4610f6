import type { Context } from 'hono';
import { z } from 'zod';
import { Scope } from '../auth/identity.ts';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import type { ApiDeps } from './deps.ts';
import type { AppEnv } from './env.ts';
import { fieldErrors, parseOrThrow, Problem, readJson } from './problem.ts';

/**
 * What a route needs: `public` (probes, metrics and the API description), `slack` and `alertmanager` (those
 * endpoints check their own credentials: a request signature; a webhook secret, or a token with the `alerts:write`
 * scope, checked by the route because its own secrets are not tokens) or a token scope.
 */
export const Access = z.enum(['public', 'slack', 'alertmanager', ...Scope.options]);
export type Access = z.infer<typeof Access>;

export type Method = 'GET' | 'POST' | 'DELETE';

/** The parameter a path's trailing `*` stands for in the document and in `params` (an artifact's name). */
export const WILDCARD_PARAM = 'path';

/** One response of a route: its media types with their schemas (none for an empty body such as a 204). */
export interface ResponseSpec {
  description: string;
  content?: Record<string, z.ZodType>;
}

export interface BodySpec<B extends z.ZodType> {
  schema: B;
  mediaType: 'application/json' | 'application/x-www-form-urlencoded';
  /** The 400's detail when the body does not fit the schema (its errors[] name each field). */
  invalid: string;
  /** What a body that is not JSON was expected to be; "a JSON object" unless said. */
  expected?: string;
  /** Fields accepted for compatibility and dropped before the (strict) schema sees them. */
  ignored?: readonly string[];
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface RouteInput<P, Q, B> {
  params: Parsed<P>;
  query: Parsed<Q>;
  /**
   * The body, checked against the route's schema. Read when the route decides, because routes that check their
   * own credentials (a Slack signature over the raw bytes, Alertmanager's secret) must refuse before parsing.
   */
  body(): Promise<B extends z.ZodType ? z.output<B> : never>;
}

/**
 * Everything about one route in one place: the server's routing, the access check (src/api/access-policy.ts)
 * and the OpenAPI document (src/api/openapi.ts) are all derived from it, so none of them can be forgotten.
 */
export interface RouteSpec<P extends z.ZodObject | undefined = undefined, Q extends z.ZodObject | undefined = undefined, B extends z.ZodType | undefined = undefined> {
  method: Method;
  /** Hono's pattern: `:name` parameters, a trailing `*` for the rest of the path (see WILDCARD_PARAM). */
  path: string;
  access: Access;
  summary: string;
  /** Every parameter of the path, checked before the route runs: a bad one is a 400 naming it. */
  params?: P;
  /**
   * A parameter that fails its schema names no such thing: a 404 `no <unknownAs> <value>`, the answer for one that
   * exists nowhere, so a malformed id and an unknown one look alike.
   */
  unknownAs?: string;
  /** The query, checked before the route runs: a bad one is a 400 naming each field under `query.`. */
  query?: Q;
  body?: BodySpec<NonNullable<B>>;
  /** Success and route-specific errors; 400, 401, 403 and 413 follow from the rest and are added to the document. */
  responses: Record<number, ResponseSpec>;
  handle(c: Context<AppEnv>, input: RouteInput<P, Q, B>, deps: ApiDeps): Response | Promise<Response>;
}

declare const defined: unique symbol;

/** A route as defineRoute checked it: the table takes no other, so no route skips the checks below. */
export type Route = RouteSpec<z.ZodObject | undefined, z.ZodObject | undefined, z.ZodType | undefined> & { readonly [defined]: true };

/** `:id` and `:otherId` of `/v1/investigations/:id/diff/:otherId`; a trailing `*` as WILDCARD_PARAM. */
export const pathParams = (path: string): string[] =>
  path.split('/').flatMap((seg) => (seg.startsWith(':') ? [seg.slice(1)] : seg === '*' ? [WILDCARD_PARAM] : []));

const keys = (schema: z.ZodObject | undefined) => Object.keys(schema?.shape ?? {});

/**
 * A route, checked as it is defined (at import, before the server can start): a route with no access, or whose
 * params schema does not name exactly its path's parameters, is a start-up error, never a route served unchecked.
 */
export function defineRoute<P extends z.ZodObject | undefined = undefined, Q extends z.ZodObject | undefined = undefined, B extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<P, Q, B>,
): Route {
  const where = `${String(spec.method)} ${String(spec.path)}`;
  if (!Access.safeParse(spec.access).success) {
    throw new Error(`route ${where} needs an access (${Access.options.join(', ')}), has ${JSON.stringify(spec.access)}`);
  }
  const declared = keys(spec.params).sort().join(', ');
  const inPath = pathParams(spec.path).sort().join(', ');
  if (declared !== inPath) throw new Error(`route ${where}: its params schema names [${declared}], its path [${inPath}]`);
  return spec as unknown as Route;
}

/** The path's parameters as the route sees them, the wildcard's as the rest of the path after its fixed segments. */
function paramValues(route: Route, c: Context): Record<string, string> {
  const values: Record<string, string> = { ...c.req.param() };
  if (route.path.endsWith('/*')) values[WILDCARD_PARAM] = c.req.path.split('/').slice(route.path.split('/').length - 1).join('/');
  return values;
}

function parseParams(route: Route, c: Context): unknown {
  const schema = route.params;
  if (!schema) return {};
  const values = paramValues(route, c);
  if (route.unknownAs === undefined) return parseOrThrow(schema, values, 'path parameters');
  const r = schema.safeParse(values);
  if (r.success) return r.data;
  const bad = String(r.error.issues[0]?.path[0] ?? '');
  throw new NotFoundError(`no ${route.unknownAs} ${values[bad] ?? ''}`);
}

async function parseBody(route: Route, c: Context): Promise<unknown> {
  const spec = route.body;
  if (!spec) throw new Error(`route ${route.method} ${route.path} declares no body`);
  let value: unknown =
    spec.mediaType === 'application/x-www-form-urlencoded' ? Object.fromEntries(new URLSearchParams(await c.req.text())) : await readJson(c.req, spec.expected);
  if (spec.ignored && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    value = Object.fromEntries(Object.entries(value).filter(([k]) => !spec.ignored!.includes(k)));
  }
  const r = spec.schema.safeParse(value);
  if (!r.success) throw new ValidationError(spec.invalid, fieldErrors(r.error));
  return r.data;
}

/** The route's input from a request: query first, then the path (a bad query is a 400 whatever the ids say). */
export function requestInput(route: Route, c: Context): RouteInput<z.ZodObject, z.ZodObject, z.ZodType> {
  const query = route.query ? parseOrThrow(route.query, c.req.query(), 'query', ['query']) : {};
  const params = parseParams(route, c);
  return { query, params, body: () => parseBody(route, c) } as RouteInput<z.ZodObject, z.ZodObject, z.ZodType>;
}

/** Response helpers for route definitions. */
export const jsonResponse = (description: string, schema: z.ZodType): ResponseSpec => ({ description, content: { 'application/json': schema } });
export const bytesResponse = (description: string, mediaType: string): ResponseSpec => ({ description, content: { [mediaType]: z.string() } });
export const problemResponse = (description: string): ResponseSpec => ({ description, content: { 'application/problem+json': Problem } });
