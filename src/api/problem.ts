import type { Context, HonoRequest } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import {
  ForbiddenError,
  InputTooLargeError,
  OverloadedError,
  RateLimitedError,
  TracehoundError,
  UnauthorizedError,
  ValidationError,
  type FieldError,
} from '../core/errors.ts';

const FieldErrorJson = z.object({ path: z.string(), message: z.string() }) satisfies z.ZodType<FieldError>;

/** RFC 9457 problem details, as every error of the API is answered (`errors[]` names each bad or refused field). */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string().optional(),
  errors: z.array(FieldErrorJson).optional(),
});
export type Problem = z.infer<typeof Problem>;

/** RFC 9457 problem+json. */
export function problem(c: Context, p: Problem): Response {
  return c.body(JSON.stringify(p), p.status as ContentfulStatusCode, { 'content-type': 'application/problem+json' });
}

export function problemFromError(c: Context, err: TracehoundError): Response {
  if (err instanceof UnauthorizedError) c.header('WWW-Authenticate', 'Bearer realm="tracehound"');
  if (err instanceof RateLimitedError || err instanceof OverloadedError) c.header('Retry-After', String(err.retryAfterSec));
  return problem(c, {
    type: err.type,
    title: err.title,
    status: err.status,
    detail: err.message,
    instance: c.req.path,
    ...(err instanceof ValidationError || err instanceof InputTooLargeError || (err instanceof ForbiddenError && err.errors.length > 0)
      ? { errors: err.errors }
      : {}),
  });
}

export function fieldErrors(error: z.ZodError, root: string[] = []): FieldError[] {
  return error.issues.map((i) => ({ path: [...root, ...i.path.map(String)].join('.') || '(body)', message: i.message }));
}

/** Parses with a zod schema or throws a ValidationError naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string, root: string[] = []): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ValidationError(`invalid ${what}`, fieldErrors(r.error, root));
  return r.data;
}

/** The request body as JSON, or a 400 saying it is not JSON (`expected` says what was wanted). */
export async function readJson(req: HonoRequest, expected = 'a JSON object'): Promise<unknown> {
  try {
    return await req.json();
  } catch {
    throw new ValidationError('request body is not valid JSON', [{ path: '(body)', message: `expected ${expected}` }]);
  }
}
