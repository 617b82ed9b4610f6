import type { MiddlewareHandler } from 'hono';
import type { AuditLog } from '../audit/audit-log.ts';
import { bearerToken } from '../auth/credentials.ts';
import { hasScope, identity, type Identity } from '../auth/identity.ts';
import { LINK_REQUESTER, verifySignedPath } from '../auth/signed-links.ts';
import { findToken } from '../auth/tokens.ts';
import { ForbiddenError, UnauthorizedError } from '../core/errors.ts';
import { accessFor } from './access-policy.ts';
import type { AuthConfig } from './deps.ts';
import type { AppEnv } from './env.ts';

/** Authenticates by bearer token or signed link, then checks the route's scope from the access policy. */
export function authMiddleware(auth: AuthConfig, audit: AuditLog): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const access = accessFor(c.req.method, c.req.path);
    if (access === 'public' || access === 'slack' || access === 'alertmanager') return next();

    let who: Identity | null = null;
    const header = c.req.header('authorization');
    if (header !== undefined) {
      const token = bearerToken(header);
      const entry = token ? findToken(auth.tokens, token) : null;
      if (!entry) throw new UnauthorizedError('the bearer token is not valid');
      who = identity(`token:${entry.name}`, entry.scopes, { namespaces: entry.namespaces ?? null, playbooks: entry.playbooks ?? null });
    } else if ((c.req.method === 'GET' || c.req.method === 'HEAD') && c.req.query('sig') !== undefined) {
      const check = verifySignedPath(auth.linkSecret, c.req.path, c.req.query('exp'), c.req.query('sig'), Math.floor(Date.now() / 1000));
      if (!check.ok) throw new UnauthorizedError(`this link is not valid (${check.reason}); ask for a fresh one`);
      who = identity(LINK_REQUESTER, ['investigations:read']);
    }
    if (!who) throw new UnauthorizedError('send an API token: Authorization: Bearer <token>');
    if (!hasScope(who, access)) {
      await audit.append({ actor: who.requestedBy, action: 'access.denied', subject: `${c.req.method} ${c.req.path}`, detail: { needs: access } }).catch(() => undefined);
      throw new ForbiddenError(`${who.requestedBy} lacks the ${access} scope this route needs`);
    }
    c.set('identity', who);
    return next();
  };
}
