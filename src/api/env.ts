import type { Identity } from '../auth/identity.ts';

/**
 * Hono context variables: the authenticated caller, set by the auth middleware on every non-public route; and the
 * app itself, for a route that answers by calling the others (/mcp): each such call passes every check a request
 * from outside does (token, scope, schemas, rate limit), none made twice differently.
 */
export type AppEnv = { Variables: { identity: Identity; app: (request: Request) => Promise<Response> } };
