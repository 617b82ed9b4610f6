import type { Identity } from '../auth/identity.ts';

/** Hono context variables: the authenticated caller, set by the auth middleware on every non-public route. */
export type AppEnv = { Variables: { identity: Identity } };
