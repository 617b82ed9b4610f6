import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { NotFoundError } from '../core/errors.ts';
import { Investigation, isTerminal, type InvestigationStatus } from '../core/investigation.ts';
import { RedisKeys } from '../redis/keys.ts';

/** One page of investigation records, newest first (what GET /v1/investigations asks `list` for). */
export interface RecordsPageQuery {
  status?: InvestigationStatus;
  playbook?: string;
  limit: number;
  /** Opaque: the id of the last item of the previous page. */
  cursor?: string;
  /** What the caller may see (namespace-limited tokens); applied while paging, like the other filters. */
  visible?: (inv: Investigation) => boolean;
}

/**
 * Writes `next` only if the record is still exactly what the caller read (by SHA-1, so a large record is not sent
 * twice), keeping the active set and publishing the change in the same step.
 * KEYS: record, active set. ARGV: sha1 of the record read, next JSON, id, "1" when next has ended, change channel.
 */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if not current or redis.sha1hex(current) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[4] == '1' then redis.call('SREM', KEYS[2], ARGV[3]) else redis.call('SADD', KEYS[2], ARGV[3]) end
redis.call('PUBLISH', ARGV[5], ARGV[3])
return 1
`;

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

/** A record as its writer last read or wrote it, with the SHA-1 of its stored JSON: what `updateFrom` compares with. */
export interface RecordVersion {
  inv: Investigation;
  sha1: string;
}

/**
 * Investigation records in Redis: one JSON document per investigation plus a sorted index by id (ids are
 * time-sortable), and the set of those not ended yet (what the orchestrator's reaper looks at). The API creates a
 * record; after that only the orchestrator writes it, through `update` where several of its parts may write at
 * once (the run, late artifacts, the reaper). Cancellation is a separate key so the API never races those writes.
 */
export class InvestigationRecords {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  /** A cancel request publishes the id here: agents stop its captures at once. */
  get cancelChannel() {
    return this.keys.cancelChannel();
  }
  /** Every write publishes the id here, so API replicas can stream changes (SSE) without polling. */
  get changeChannel() {
    return this.keys.changeChannel();
  }

  async create(inv: Investigation): Promise<void> {
    const tx = this.redis.multi().set(this.keys.investigation(inv.id), JSON.stringify(inv)).zadd(this.keys.investigationIndex(), 0, inv.id);
    (isTerminal(inv.status) ? tx.srem(this.keys.activeInvestigations(), inv.id) : tx.sadd(this.keys.activeInvestigations(), inv.id)).publish(this.changeChannel, inv.id);
    await tx.exec();
  }

  async remove(id: string): Promise<void> {
    await this.redis.multi().del(this.keys.investigation(id), this.keys.cancelRequest(id)).zrem(this.keys.investigationIndex(), id).srem(this.keys.activeInvestigations(), id).exec();
  }

  async find(id: string): Promise<Investigation | null> {
    const raw = await this.redis.get(this.keys.investigation(id));
    return raw === null ? null : Investigation.parse(JSON.parse(raw));
  }

  async get(id: string): Promise<Investigation> {
    const inv = await this.find(id);
    if (!inv) throw new NotFoundError(`no investigation ${id}`);
    return inv;
  }

  /** Overwrites the record whatever it holds; where another writer may be at work, use `update`. */
  async put(inv: Investigation): Promise<void> {
    const tx = this.redis.multi().set(this.keys.investigation(inv.id), JSON.stringify(inv));
    (isTerminal(inv.status) ? tx.srem(this.keys.activeInvestigations(), inv.id) : tx.sadd(this.keys.activeInvestigations(), inv.id)).publish(this.changeChannel, inv.id);
    await tx.exec();
  }

  /**
   * Read-modify-write without losing a concurrent writer's change: `change` gets the current record and returns
   * the next one, or null to leave it as it is; on a conflict it runs again on the newer record. Returns what was
   * written, or null when nothing was (no record, or `change` said so).
   */
  async update(id: string, change: (current: Investigation) => Investigation | null): Promise<Investigation | null> {
    return (await this.updateFrom(null, id, change))?.inv ?? null;
  }

  /**
   * `update` for a writer that knows the record as it last read or wrote it (the orchestrator's run between its
   * parts): `change` is applied to that version, written if the stored record is still it — no read of a record that
   * may hold thousands of steps — and otherwise applied to the current record as `update` does. Returns the version
   * written, or null when nothing was.
   */
  async updateFrom(known: RecordVersion | null, id: string, change: (current: Investigation) => Investigation | null): Promise<RecordVersion | null> {
    let current = known;
    for (;;) {
      if (!current) {
        current = await this.findVersion(id);
        if (!current) return null;
      }
      const next = change(current.inv);
      if (next === null) return null;
      const json = JSON.stringify(next);
      const written = await this.redis.eval(
        COMPARE_AND_SET,
        2,
        this.keys.investigation(id),
        this.keys.activeInvestigations(),
        current.sha1,
        json,
        id,
        isTerminal(next.status) ? '1' : '0',
        this.changeChannel,
      );
      if (written === 1) return { inv: next, sha1: sha1(json) };
      current = null;
    }
  }

  /** The record with the SHA-1 of its stored JSON (for `updateFrom`); null when there is none. */
  async findVersion(id: string): Promise<RecordVersion | null> {
    const raw = await this.redis.get(this.keys.investigation(id));
    return raw === null ? null : { inv: Investigation.parse(JSON.parse(raw)), sha1: sha1(raw) };
  }

  /** Ids of the records not ended yet (and, briefly, of some just ended or removed: callers read the record). */
  async activeIds(): Promise<string[]> {
    if (!(await this.redis.exists(this.keys.activeInvestigationsIndexed()))) await this.indexActive();
    return this.redis.smembers(this.keys.activeInvestigations());
  }

  /** Drops an id from the active set whose record is gone or ended (written before the set existed). */
  async forgetActive(id: string): Promise<void> {
    await this.redis.srem(this.keys.activeInvestigations(), id);
  }

  /**
   * Records written before the active set existed are found once by walking the index; a record left running by
   * an older version would otherwise never be reaped.
   */
  private async indexActive(): Promise<void> {
    let after = '-';
    for (;;) {
      const ids = await this.redis.zrangebylex(this.keys.investigationIndex(), after, '+', 'LIMIT', 0, 500);
      if (ids.length === 0) break;
      const docs = await this.redis.mget(ids.map((id) => this.keys.investigation(id)));
      const active = ids.filter((_, i) => {
        const raw = docs[i];
        return raw != null && !isTerminal(Investigation.parse(JSON.parse(raw)).status);
      });
      if (active.length) await this.redis.sadd(this.keys.activeInvestigations(), ...active);
      after = `(${ids[ids.length - 1]}`;
    }
    await this.redis.set(this.keys.activeInvestigationsIndexed(), '1');
  }

  /** Newest first. Filters are applied while walking the index, so a page holds `limit` matches when there are. */
  async list(q: RecordsPageQuery): Promise<{ items: Investigation[]; nextCursor: string | null }> {
    const items: Investigation[] = [];
    // All members share score 0, so the set is ordered by id; ids sort by creation time.
    let max = q.cursor ? `(${q.cursor}` : '+';
    const batch = Math.max(q.limit * 2, 50);
    for (;;) {
      const ids = await this.redis.zrevrangebylex(this.keys.investigationIndex(), max, '-', 'LIMIT', 0, batch);
      if (ids.length === 0) return { items, nextCursor: null };
      const docs = await this.redis.mget(ids.map((id) => this.keys.investigation(id)));
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
    await this.redis.multi().set(this.keys.cancelRequest(id), '1', 'EX', 7 * 24 * 3600).publish(this.cancelChannel, id).exec();
  }

  async isCancelRequested(id: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.cancelRequest(id))) === 1;
  }
}
