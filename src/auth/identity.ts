import { z } from 'zod';

/**
 * `alerts:write` lets a token deliver Alertmanager notifications (POST /v1/webhooks/alertmanager); the investigations
 * they plan start as that token, within its namespaces and playbooks. `investigations:write` alone does not open
 * the webhook: the alert rules choose targets, so posting alerts is a grant of its own.
 */
export const Scope = z.enum(['investigations:read', 'investigations:write', 'schedules:write', 'alerts:write', 'admin']);
export type Scope = z.infer<typeof Scope>;

/**
 * Who is asking, after authentication. `requestedBy` is what investigations and the audit trail record, always
 * the credential, never something the request says about itself: `token:<name>`, `slack:<user>`,
 * `alertmanager:bearer`, `alertmanager:basic:<username>`, `schedule:<name>`, `link` (a signed URL).
 * `namespaces`/`playbooks` null means unrestricted.
 */
export interface Identity {
  requestedBy: string;
  scopes: ReadonlySet<Scope>;
  namespaces: readonly string[] | null;
  playbooks: readonly string[] | null;
}

/** `admin` holds every scope. */
export const hasScope = (id: Identity, scope: Scope): boolean => id.scopes.has('admin') || id.scopes.has(scope);

export const identity = (
  requestedBy: string,
  scopes: readonly Scope[],
  limits: { namespaces?: readonly string[] | null; playbooks?: readonly string[] | null } = {},
): Identity => ({
  requestedBy,
  scopes: new Set(scopes),
  namespaces: limits.namespaces ?? null,
  playbooks: limits.playbooks ?? null,
});
