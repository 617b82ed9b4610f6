import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { PayloadTooLargeError, TracehoundError } from '../core/errors.ts';
import { formatBytes } from '../core/format.ts';
import { httpRequests } from '../metrics.ts';
import { accessFor } from './access-policy.ts';
import { authMiddleware } from './auth.ts';
import type { ApiDeps } from './deps.ts';
import type { AppEnv } from './env.ts';
import { problem, problemFromError } from './problem.ts';
import { requestInput } from './route.ts';
import { ROUTES } from './route-table.ts';

/**
 * Refuses a request body over its limit with 413, before authentication: from Content-Length at once, or, for a
 * chunked body, as soon as the bytes read pass the limit (hono's bodyLimit keeps at most `limit` bytes and stops
 * reading; @hono/node-server then discards the rest briefly and closes the connection). The chat endpoints get
 * their own, smaller limit: a slash command is a short form, and its signature can only be checked on the whole body.
 */
function requestBodyLimit(limits: ApiDeps['limits']): MiddlewareHandler<AppEnv> {
  const limited = (maxSize: number, variable: string) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new PayloadTooLargeError(`the request body is over ${formatBytes(maxSize)}, the limit of this endpoint (${variable})`);
      },
    });
  const chat = limited(limits.chatopsBody, 'CHATOPS_BODY_LIMIT');
  const api = limited(limits.apiBody, 'API_BODY_LIMIT');
  return (c, next) => (accessFor(c.req.method, c.req.path) === 'slack' ? chat : api)(c, next);
}

export function createApp(deps: ApiDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const self = async (request: Request) => app.fetch(request);
  app.use('*', async (c, next) => {
    c.set('app', self);
    await next();
  });
  app.use('*', async (c, next) => {
    await next();
    // The route pattern, not the path: one series per route, whatever the ids.
    httpRequests.inc({ method: c.req.method, route: c.req.routePath, status: String(c.res.status) });
  });
  app.use('*', requestBodyLimit(deps.limits));
  app.use('*', authMiddleware(deps.auth, deps.intake.audit));
  // One handler per route (app.routes lists each route once): its input checked against its schemas, then the route.
  for (const route of ROUTES) app.on(route.method, route.path, (c) => route.handle(c, requestInput(route, c), deps));

  app.notFound((c) =>
    problem(c, { type: 'about:blank', title: 'Not Found', status: 404, detail: `no route ${c.req.method} ${c.req.path}`, instance: c.req.path }),
  );
  app.onError((err, c) => {
    if (err instanceof TracehoundError) return problemFromError(c, err);
    deps.log.error({ err, path: c.req.path }, 'unhandled API error');
    return problem(c, { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'unexpected error; see the server log', instance: c.req.path });
  });
  return app;
}
