import { z } from 'zod';

export const Scope = z.enum(['investigations:read', 'investigations:write', 'schedules:write', 'admin']);
export type Scope = z.infer<typeof Scope>;

/**
 * Who is asking, after authentication. `requestedBy` is what investigations and the audit trail record:
 * `token:<name>`, `slack:<user>`, `alertmanager:<receiver>`, `schedule:<name>`, `link` (a signed URL).
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
