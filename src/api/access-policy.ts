import type { Access } from './route.ts';
import { ROUTES } from './route-table.ts';

/**
 * What each request needs, from the route table (each route's `access`). A request no route matches needs `admin`,
 * so it fails closed: without the admin token it is a 401 or 403, never a look at what exists.
 */
export const ACCESS_POLICY = ROUTES.map(({ method, path, access }) => ({
  method,
  path,
  access,
  // Hono's pattern as a regular expression: `:name` one segment, `*` the rest; a trailing "/" is the same route.
  re: new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/:[A-Za-z]+/g, '[^/]+').replace(/\*/g, '.+')}/?$`),
}));

export function accessFor(method: string, path: string): Access {
  const m = method === 'HEAD' ? 'GET' : method;
  return ACCESS_POLICY.find((p) => p.method === m && p.re.test(path))?.access ?? 'admin';
}
