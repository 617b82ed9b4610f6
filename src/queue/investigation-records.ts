import type { Redis } from 'ioredis';
import { NotFoundError } from '../core/errors.ts';
import { Investigation, type InvestigationStatus } from '../core/investigation.ts';

export interface ListQuery {
  status?: InvestigationStatus;
  playbook?: string;
  limit: number;
  /** Opaque: the id of the last item of the previous page. */
  cursor?: string;
  /** What the caller may see (namespace-limited tokens); applied while paging, like the other filters. */
  visible?: (inv: Investigation) => boolean;
}

/**
 * Investigation records in Redis: one JSON document per investigation plus a sorted index by id (ids are
 * time-sortable). The API creates a record; after that only the orchestrator writes it. Cancellation is a
 * separate key so the API never races the orchestrator's writes.
 */
export class InvestigationRecords {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key = (id: string) => `${this.prefix}:inv:${id}`;
  private cancelKey = (id: string) => `${this.prefix}:inv:${id}:cancel`;
  private get indexKey() {
    return `${this.prefix}:inv-index`;
  }
  get cancelChannel() {
    return `${this.prefix}:cancel`;
  }
  /** Every write publishes the id here, so API replicas can stream changes (SSE) without polling. */
  get changeChannel() {
    return `${this.prefix}:inv-changed`;
  }

  async create(inv: Investigation): Promise<void> {
    await this.redis.multi().set(this.key(inv.id), JSON.stringify(inv)).zadd(this.indexKey, 0, inv.id).publish(this.changeChannel, inv.id).exec();
  }

  async remove(id: string): Promise<void> {
    await this.redis.multi().del(this.key(id), this.cancelKey(id)).zrem(this.indexKey, id).exec();
  }

  async find(id: string): Promise<Investigation | null> {
    const raw = await this.redis.get(this.key(id));
    return raw === null ? null : Investigation.parse(JSON.parse(raw));
  }

  async get(id: string): Promise<Investigation> {
    const inv = await this.find(id);
    if (!inv) throw new NotFoundError(`no investigation ${id}`);
    return inv;
  }

  async put(inv: Investigation): Promise<void> {
    await this.redis.multi().set(this.key(inv.id), JSON.stringify(inv)).publish(this.changeChannel, inv.id).exec();
  }

  /** Newest first. Filters are applied while walking the index, so a page holds `limit` matches when there are. */
  async list(q: ListQuery): Promise<{ items: Investigation[]; nextCursor: string | null }> {
    const items: Investigation[] = [];
    // All members share score 0, so the set is ordered by id; ids sort by creation time.
    let max = q.cursor ? `(${q.cursor}` : '+';
    const batch = Math.max(q.limit * 2, 50);
    for (;;) {
      const ids = await this.redis.zrevrangebylex(this.indexKey, max, '-', 'LIMIT', 0, batch);
      if (ids.length === 0) return { items, nextCursor: null };
      const docs = await this.redis.mget(ids.map(this.key));
      for (let i = 0; i < ids.length; i++) {
        const raw = docs[i];
        if (!raw) continue;
        const inv = Investigation.parse(JSON.parse(raw));
        if (q.status && inv.status !== q.status) continue;
        if (q.playbook && inv.playbook !== q.playbook) continue;
        if (q.visible && !q.visible(inv)) continue;
        items.push(inv);
        if (items.length === q.limit) {
          const more = i < ids.length - 1 || ids.length === batch;
          return { items, nextCursor: more ? inv.id : null };
        }
      }
      if (ids.length < batch) return { items, nextCursor: null };
      max = `(${ids[ids.length - 1]}`;
    }
  }

  async requestCancel(id: string): Promise<void> {
    await this.redis.multi().set(this.cancelKey(id), '1', 'EX', 7 * 24 * 3600).publish(this.cancelChannel, id).exec();
  }

  async isCancelRequested(id: string): Promise<boolean> {
    return (await this.redis.exists(this.cancelKey(id))) === 1;
  }
}
