import { z } from 'zod';
import { AuditEntry } from '../../audit/audit-log.ts';
import { defineRoute, jsonResponse } from '../route.ts';

const AuditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: z.string().regex(/^\d{1,16}-\d{1,10}$/, 'an id from a previous page').optional(),
    subject: z.string().max(200).optional(),
    actor: z.string().max(200).optional(),
  })
  .strict();

/** The audit trail, newest first (admin only): who started, cancelled, scheduled what, and who was refused. */
export const auditRoutes = [
  defineRoute({
    method: 'GET',
    path: '/v1/audit',
    access: 'admin',
    summary: 'The audit trail, newest first (admin)',
    query: AuditQuery,
    responses: { 200: jsonResponse('a page', z.object({ items: z.array(AuditEntry), nextBefore: z.string().nullable() })) },
    handle: async (c, { query }, deps) => {
      const page = await deps.intake.audit.list(query);
      return c.json({ items: page.items, nextBefore: page.nextBefore });
    },
  }),
];
