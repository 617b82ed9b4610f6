import type { Scope } from '../auth/identity.ts';

/**
 * What each route needs, in one table: `public` (probes and the API description), `slack` and `alertmanager`
 * (those endpoints check their own credentials: a request signature; a webhook secret, or a token with the
 * `alerts:write` scope, checked by the route because its own secrets are not tokens) or a token scope.
 * A route missing here needs `admin`, so forgetting an entry fails closed; a test walks every registered route.
 */
export type Access = 'public' | 'slack' | 'alertmanager' | Scope;

export const ACCESS_POLICY: readonly { method: 'GET' | 'POST' | 'DELETE'; path: string; access: Access }[] = [
  { method: 'GET', path: '/healthz', access: 'public' },
  { method: 'GET', path: '/readyz', access: 'public' },
  { method: 'GET', path: '/openapi.json', access: 'public' },
  // Scraped by Prometheus like the probes; counts only, no names of people, pods or nodes.
  { method: 'GET', path: '/metrics', access: 'public' },
  { method: 'GET', path: '/v1/investigations', access: 'investigations:read' },
  { method: 'POST', path: '/v1/investigations', access: 'investigations:write' },
  { method: 'GET', path: '/v1/investigations/:id', access: 'investigations:read' },
  { method: 'GET', path: '/v1/investigations/:id/artifacts/*', access: 'investigations:read' },
  { method: 'GET', path: '/v1/investigations/:id/report', access: 'investigations:read' },
  { method: 'GET', path: '/v1/investigations/:id/events', access: 'investigations:read' },
  { method: 'GET', path: '/v1/investigations/:id/diff/:otherId', access: 'investigations:read' },
  { method: 'POST', path: '/v1/investigations/:id/cancel', access: 'investigations:write' },
  { method: 'GET', path: '/v1/playbooks', access: 'investigations:read' },
  { method: 'GET', path: '/v1/playbooks/:name', access: 'investigations:read' },
  { method: 'GET', path: '/v1/nodes', access: 'investigations:read' },
  { method: 'GET', path: '/v1/schedules', access: 'investigations:read' },
  { method: 'POST', path: '/v1/schedules', access: 'schedules:write' },
  { method: 'DELETE', path: '/v1/schedules/:name', access: 'schedules:write' },
  { method: 'GET', path: '/v1/audit', access: 'admin' },
  { method: 'POST', path: '/v1/chatops/slack/commands', access: 'slack' },
  { method: 'POST', path: '/v1/chatops/slack/interactions', access: 'slack' },
  { method: 'POST', path: '/v1/webhooks/alertmanager', access: 'alertmanager' },
];

const compiled = ACCESS_POLICY.map((p) => ({
  ...p,
  re: new RegExp(`^${p.path.replace(/[.]/g, '\\.').replace(/:[A-Za-z]+/g, '[^/]+').replace(/\*/g, '.+')}/?$`),
}));

export function accessFor(method: string, path: string): Access {
  const m = method === 'HEAD' ? 'GET' : method;
  return compiled.find((p) => p.method === m && p.re.test(path))?.access ?? 'admin';
}
