import type { Redis } from 'ioredis';
import { z } from 'zod';

/** Any http(s) URL; which hosts the server will actually post to is decided by NOTIFY_URL_HOSTS (see allowedUrl). */
export const NotifyUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).max(2048);

/**
 * Where an investigation's progress and result are posted. `slack-response-url`: the slash command's
 * response_url (Slack accepts at most 5 posts to it); `slack-webhook`: an incoming webhook (final result only).
 */
export const NotifyTarget = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('slack-response-url'), url: NotifyUrl }),
  z.object({ kind: z.literal('slack-webhook'), url: NotifyUrl, when: z.enum(['always', 'problems']).default('always') }),
]);
export type NotifyTarget = z.infer<typeof NotifyTarget>;

/** Posting to URLs a request supplied is a server-side request forgery risk: only configured hosts are allowed. */
export function allowedUrl(url: string, hosts: readonly string[]): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'https:' || u.protocol === 'http:') && hosts.includes(u.hostname.toLowerCase());
  } catch {
    return false;
  }
}

const TTL_SEC = 7 * 24 * 3600;

/**
 * Notification targets per investigation, kept apart from the investigation record: a response_url is a
 * credential for posting into a channel and must not show in `GET /v1/investigations/:id`.
 */
export class NotifyTargets {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key = (id: string) => `${this.prefix}:notify:${id}`;
  private postsKey = (id: string) => `${this.prefix}:notify:${id}:posts`;

  async add(id: string, target: NotifyTarget): Promise<void> {
    await this.redis.multi().rpush(this.key(id), JSON.stringify(NotifyTarget.parse(target))).expire(this.key(id), TTL_SEC).exec();
  }

  async has(id: string): Promise<boolean> {
    return (await this.redis.exists(this.key(id))) === 1;
  }

  async list(id: string): Promise<NotifyTarget[]> {
    return (await this.redis.lrange(this.key(id), 0, -1)).map((raw) => NotifyTarget.parse(JSON.parse(raw)));
  }

  /** Counts posts made to target `index`; returns the count before this one. */
  async countPost(id: string, index: number): Promise<number> {
    const [[, n] = [null, 1]] = ((await this.redis.multi().hincrby(this.postsKey(id), String(index), 1).expire(this.postsKey(id), TTL_SEC).exec()) ?? []) as [Error | null, number][];
    return Number(n) - 1;
  }

  async posts(id: string, index: number): Promise<number> {
    return Number((await this.redis.hget(this.postsKey(id), String(index))) ?? 0);
  }

  /** Claims the final message for target `index`; false if it was already sent (or is being sent). */
  async markFinal(id: string, index: number): Promise<boolean> {
    return (await this.redis.hsetnx(this.postsKey(id), `final:${index}`, '1')) === 1;
  }

  /** Gives the claim back when posting failed, so the retry posts. */
  async unmarkFinal(id: string, index: number): Promise<void> {
    await this.redis.hdel(this.postsKey(id), `final:${index}`);
  }
}
