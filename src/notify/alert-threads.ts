import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { RedisKeys } from '../redis/keys.ts';
import { SlackChannel, SlackTs } from './targets.ts';

/** How long an alert group's thread is remembered after its last change; a group quiet for longer starts anew. */
export const ALERT_THREAD_TTL_SEC = 7 * 24 * 3600;
/** How long a claim to open a thread holds: a process that died between claiming and posting blocks no one longer. */
const OPENING_TTL_SEC = 60;

/** An alert group's Slack thread: where its top-level post is, and since when it fires. */
export const AlertThread = z.object({ channel: SlackChannel, ts: SlackTs, firedAt: z.iso.datetime({ offset: true }) });
export type AlertThread = z.infer<typeof AlertThread>;

export type ThreadClaim = { kind: 'claimed' } | { kind: 'open'; thread: AlertThread } | { kind: 'opening' };

/**
 * Claims a group's thread: opened by nobody yet, or resolved (a group firing again after it resolved is a new
 * incident, with a new thread) → this caller opens it. Atomic, so two deliveries at once (an HA pair, two alerts of
 * a group arriving apart) never post two top-level messages.
 */
const CLAIM = `
local state = redis.call('HGET', KEYS[1], 'state')
if (not state) or state == 'resolved' then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[1], 'state', 'opening')
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  return {'claimed'}
end
return {state, redis.call('HGET', KEYS[1], 'channel') or '', redis.call('HGET', KEYS[1], 'ts') or '', redis.call('HGET', KEYS[1], 'firedAt') or ''}
`;

/** Marks an open thread resolved, once: the first resolved delivery gets the thread, repeats get nothing. */
const RESOLVE = `
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return false end
redis.call('HSET', KEYS[1], 'state', 'resolved', 'resolvedAt', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {redis.call('HGET', KEYS[1], 'channel'), redis.call('HGET', KEYS[1], 'ts'), redis.call('HGET', KEYS[1], 'firedAt')}
`;

/**
 * Alertmanager group → Slack thread, in Redis with a TTL (ALERT_THREAD_TTL_SEC). Keyed by a hash of the
 * groupKey (up to 32 KiB of route and label text) and shared by every API replica.
 */
export class AlertThreads {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  private ids(groupKey: string) {
    const group = createHash('sha256').update(groupKey).digest('hex');
    return { thread: this.keys.alertThread(group), investigations: this.keys.alertThreadInvestigations(group) };
  }

  async claim(groupKey: string): Promise<ThreadClaim> {
    const k = this.ids(groupKey);
    const [state, channel, ts, firedAt] = (await this.redis.eval(CLAIM, 2, k.thread, k.investigations, OPENING_TTL_SEC)) as string[];
    if (state === 'claimed') return { kind: 'claimed' };
    const thread = AlertThread.safeParse({ channel, ts, firedAt });
    return state === 'open' && thread.success ? { kind: 'open', thread: thread.data } : { kind: 'opening' };
  }

  /** Records the top-level post of a claimed group. */
  async open(groupKey: string, thread: AlertThread): Promise<void> {
    const k = this.ids(groupKey);
    await this.redis.multi().hset(k.thread, { state: 'open', ...thread }).expire(k.thread, ALERT_THREAD_TTL_SEC).exec();
  }

  /** Gives a claim back (the post failed), so the next delivery of the group tries again. */
  async abandon(groupKey: string): Promise<void> {
    const k = this.ids(groupKey);
    await this.redis.del(k.thread, k.investigations);
  }

  /** Waits for another caller's claim to become a thread (its post is on its way); undefined if it does not. */
  async waitOpen(groupKey: string, timeoutMs: number): Promise<AlertThread | undefined> {
    const k = this.ids(groupKey);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const h = await this.redis.hgetall(k.thread);
      if (h.state !== 'opening') {
        const thread = AlertThread.safeParse(h);
        return h.state === 'open' && thread.success ? thread.data : undefined;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
  }

  async addInvestigation(groupKey: string, id: string): Promise<void> {
    const k = this.ids(groupKey);
    await this.redis.multi().rpush(k.investigations, id).expire(k.investigations, ALERT_THREAD_TTL_SEC).expire(k.thread, ALERT_THREAD_TTL_SEC).exec();
  }

  /** The group's thread and investigations, if it is open: it is marked resolved in the same step. */
  async resolve(groupKey: string, at: Date): Promise<{ thread: AlertThread; investigations: string[] } | undefined> {
    const k = this.ids(groupKey);
    const got = (await this.redis.eval(RESOLVE, 1, k.thread, at.toISOString(), ALERT_THREAD_TTL_SEC)) as string[] | null;
    if (!got) return undefined;
    const thread = AlertThread.parse({ channel: got[0], ts: got[1], firedAt: got[2] });
    return { thread, investigations: await this.redis.lrange(k.investigations, 0, -1) };
  }

  /** Undoes resolve when the follow-up could not be posted, so the next resolved delivery tries again. */
  async reopen(groupKey: string): Promise<void> {
    await this.redis.hset(this.ids(groupKey).thread, 'state', 'open');
  }
}
