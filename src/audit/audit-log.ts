import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { RedisKeys } from '../redis/keys.ts';

export const AuditAction = z.enum([
  'investigation.start',
  'investigation.cancel',
  'schedule.upsert',
  'schedule.delete',
  'schedule.fire',
  'alert.receive',
  'access.denied',
]);
export type AuditAction = z.infer<typeof AuditAction>;

export const AuditEntry = z.object({
  /** Redis stream id: milliseconds-sequence, so entries sort by time and page by id. */
  id: z.string(),
  at: z.string(),
  actor: z.string(),
  action: AuditAction,
  subject: z.string(),
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/**
 * Who started, cancelled or scheduled what. A Redis stream: entries are only ever appended (XADD), never edited,
 * and each is also logged so it reaches the log pipeline even if Redis is lost.
 */
export class AuditLog {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly log: Logger,
  ) {
    this.key = new RedisKeys(prefix).audit();
  }

  async append(e: { actor: string; action: AuditAction; subject: string; detail?: Record<string, unknown> }): Promise<string> {
    const at = new Date().toISOString();
    const fields = ['at', at, 'actor', e.actor, 'action', e.action, 'subject', e.subject];
    if (e.detail) fields.push('detail', JSON.stringify(e.detail));
    const id = await this.redis.xadd(this.key, '*', ...fields);
    this.log.info({ audit: { ...e, at, id } }, 'audit');
    return id ?? '';
  }

  /** Newest first; `before` is an entry id from a previous page. */
  async list(q: { limit: number; before?: string; subject?: string; actor?: string }): Promise<{ items: AuditEntry[]; nextBefore: string | null }> {
    const items: AuditEntry[] = [];
    let end = q.before ? `(${q.before}` : '+';
    for (;;) {
      const batch = await this.redis.xrevrange(this.key, end, '-', 'COUNT', Math.max(q.limit * 2, 100));
      for (const [id, flat] of batch) {
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
        const entry = AuditEntry.parse({ id, at: f.at, actor: f.actor, action: f.action, subject: f.subject, ...(f.detail ? { detail: JSON.parse(f.detail) } : {}) });
        if (q.subject && entry.subject !== q.subject) continue;
        if (q.actor && entry.actor !== q.actor) continue;
        items.push(entry);
        if (items.length === q.limit) return { items, nextBefore: id };
      }
      if (batch.length === 0) return { items, nextBefore: null };
      end = `(${batch[batch.length - 1]![0]}`;
    }
  }
}
