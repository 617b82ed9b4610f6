import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';
import { parseOrThrow } from '../problem.ts';

export const AuditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: z.string().regex(/^\d{1,16}-\d{1,10}$/, 'an id from a previous page').optional(),
    subject: z.string().max(200).optional(),
    actor: z.string().max(200).optional(),
  })
  .strict();

/** The audit trail, newest first (admin only): who started, cancelled, scheduled what, and who was refused. */
export function auditRoutes(deps: ApiDeps) {
  const app = new Hono<AppEnv>();
  app.get('/', async (c) => {
    const q = parseOrThrow(AuditQuery, c.req.query(), 'query', ['query']);
    const page = await deps.audit.list(q);
    return c.json({ items: page.items, nextBefore: page.nextBefore });
  });
  return app;
}
