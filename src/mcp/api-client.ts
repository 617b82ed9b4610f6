import { z } from 'zod';

/**
 * The MCP tools are a client of the API, whichever transport carries them: `tracehound mcp` (stdio) sends each call
 * over HTTP with fetch, `/mcp` hands it to the app itself. So every check — the token, its scope for the route
 * called, its namespaces and playbooks, the rate limit, the request's schema — is the API's own, made once, the
 * same way for a tool as for curl; a tool never reaches a service the routes do not.
 */
export type Send = (request: Request) => Promise<Response>;

/**
 * A problem document as the API answers every error (RFC 9457, src/api/problem.ts writes it). Read leniently: a
 * client shows what it finds, and an answer that is not a problem (a proxy's HTML page) still becomes an error.
 */
const ProblemBody = z.object({
  title: z.string().optional(),
  status: z.number().optional(),
  detail: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/** An error answer of the API, with the problem's own text: what an MCP tool error carries back to the model. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiProblem';
  }
}

async function problemOf(res: Response, what: string): Promise<ApiProblem> {
  const text = await res.text().catch(() => '');
  let parsed: z.infer<typeof ProblemBody> | null = null;
  try {
    const r = ProblemBody.safeParse(JSON.parse(text));
    if (r.success) parsed = r.data;
  } catch {
    // not JSON: said below with the status alone
  }
  const head = `${what}: ${res.status} ${parsed?.title ?? res.statusText}`.trimEnd();
  const detail = parsed?.detail ? `: ${parsed.detail}` : text && !parsed ? `: ${text.slice(0, 200)}` : '';
  const fields = (parsed?.errors ?? []).map((e) => `\n- ${e.path}: ${e.message}`).join('');
  return new ApiProblem(res.status, `${head}${detail}${fields}`);
}

export interface ApiClient {
  /** The parsed JSON answer, checked against `schema`; an error answer throws an ApiProblem with its text. */
  json<S extends z.ZodType>(method: 'GET' | 'POST', path: string, schema: S, body?: unknown): Promise<z.output<S>>;
  /** A raw answer's bytes and content type (artifacts); an error answer throws an ApiProblem. */
  bytes(path: string): Promise<{ body: Uint8Array; contentType: string }>;
}

/**
 * A client of the API at `base` (its origin, or a URL with a path prefix: paths are joined below it), sending
 * `authorization` as it was given (`Bearer <token>`) or none.
 */
export function apiClient(send: Send, base: string, authorization: string | undefined): ApiClient {
  const root = base.endsWith('/') ? base : `${base}/`;
  const request = (method: string, path: string, body?: unknown) =>
    new Request(new URL(path.replace(/^\//, ''), root), {
      method,
      headers: {
        accept: 'application/json',
        ...(authorization ? { authorization } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const answer = async (method: string, path: string, body?: unknown) => {
    const res = await send(request(method, path, body));
    if (!res.ok) throw await problemOf(res, `${method} ${path}`);
    return res;
  };
  return {
    async json(method, path, schema, body) {
      const res = await answer(method, path, body);
      const r = schema.safeParse(await res.json());
      // The API answered something its own document does not describe: a version mismatch, said plainly.
      if (!r.success) throw new ApiProblem(502, `${method} ${path}: the answer is not what this client expects (${r.error.issues[0]?.message ?? 'invalid'}); is the API the same version?`);
      return r.data;
    },
    async bytes(path) {
      const res = await answer('GET', path);
      return { body: new Uint8Array(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? 'application/octet-stream' };
    },
  };
}
