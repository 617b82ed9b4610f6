import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ServiceUnavailableError } from '../core/errors.ts';
import { isLoopback } from '../net/loopback.ts';
import { RedisKeys } from '../redis/keys.ts';

/** Any http(s) URL; which hosts the server will actually post to is decided by NOTIFY_URL_HOSTS (see allowedUrl). */
export const NotifyUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).max(2048);

const DEFAULT_PORT = { https: 443, http: 80 } as const;

/**
 * One NOTIFY_URL_HOSTS entry: where the server may post notifications. Written `hooks.slack.com` (https on 443),
 * `chat.example.com:8443` (https on that port) or `http://127.0.0.1:4567` (plain http: loopback hosts only, for
 * development, and with the port spelled out). IPv6 literals in brackets: `[::1]:8443`, `http://[::1]:4567`.
 * Nothing else (paths, userinfo, wildcards): an entry names exactly one scheme, host and port.
 */
export const NotifyHost = z.string().transform((raw, ctx) => {
  const entry = raw.trim().toLowerCase();
  const fail = (why: string) => {
    ctx.addIssue({ code: 'custom', message: `"${raw.trim()}": ${why}` });
    return z.NEVER;
  };
  const m = /^(?:(https?):\/\/)?(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::(\d{1,5}))?\/?$/.exec(entry);
  if (!m) return fail('expected host, host:port, https://host[:port] or http://<loopback>:port');
  const scheme = (m[1] ?? 'https') as keyof typeof DEFAULT_PORT;
  // Normalised as a URL would see it (e.g. "[::0001]" → "[::1]"), so entries and posted URLs compare equal.
  let host: string;
  try {
    host = new URL(`${scheme}://${m[2]}`).hostname;
  } catch {
    return fail('not a valid host name or address');
  }
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return fail('port out of range');
  if (scheme === 'http') {
    // Notifications carry signed report links: in clear text only where nobody else can listen.
    if (!isLoopback(host)) return fail('plain http is allowed for loopback hosts only; use https');
    if (port === undefined) return fail('a plain-http entry needs its port, e.g. http://127.0.0.1:4567');
  }
  return { scheme, host, port: port ?? DEFAULT_PORT[scheme] };
});
export type NotifyHost = z.infer<typeof NotifyHost>;

/** NOTIFY_URL_HOSTS as written: comma-separated entries (see NotifyHost). */
export const NotifyHosts = z
  .string()
  .transform((v) => v.split(',').map((h) => h.trim()).filter(Boolean))
  .pipe(z.array(NotifyHost).min(1, 'expected at least one host'));

export const describeNotifyHost = (h: NotifyHost) =>
  h.scheme === 'https' && h.port === DEFAULT_PORT.https ? h.host : `${h.scheme}://${h.host}:${h.port}`;

/**
 * Why the server will not post to `url`, or undefined when it may. Posting to URLs a request supplied is a
 * server-side request forgery risk: only an entry's exact scheme, host and port pass, and never userinfo
 * (credentials in a URL end up in logs, and `https://hooks.slack.com@evil.example` reads as Slack to people).
 */
export function refusedUrl(url: string, hosts: readonly NotifyHost[]): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'only http(s) URLs';
  if (u.username !== '' || u.password !== '') return 'URLs with user:password@ are refused';
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  const port = u.port === '' ? DEFAULT_PORT[scheme] : Number(u.port);
  if (hosts.some((h) => h.scheme === scheme && h.host === u.hostname && h.port === port)) return undefined;
  const allowed = hosts.map(describeNotifyHost).join(', ');
  return `${scheme}://${u.hostname}${u.port ? `:${u.port}` : ''} is not allowed; this server posts only to ${allowed} (NOTIFY_URL_HOSTS)`;
}

export const allowedUrl = (url: string, hosts: readonly NotifyHost[]): boolean => refusedUrl(url, hosts) === undefined;

/** A channel as chat.postMessage takes it: an id such as C0123ABCD (or a name, for a configured alert channel). */
export const SlackChannel = z.string().regex(/^#?[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/, 'expected a Slack channel id such as C0123ABCD');
/** A message's timestamp: Slack's id for the message and for the thread it starts, such as "1700000000.000100". */
export const SlackTs = z.string().regex(/^\d{1,12}\.\d{1,9}$/, 'expected a Slack message ts such as "1700000000.000100"');

/**
 * Where an investigation's progress and result are posted. `slack-response-url`: the slash command's
 * response_url (Slack accepts at most 5 posts to it); `slack-webhook`: an incoming webhook (final result only);
 * `slack-thread`: a reply in a thread through the Web API with the bot token (final result only: a thread is a
 * conversation, and progress posts would bury it), where the question was asked or where an alert group lives.
 */
export const NotifyTarget = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('slack-response-url'), url: NotifyUrl }),
  z.object({ kind: z.literal('slack-webhook'), url: NotifyUrl, when: z.enum(['always', 'problems']).default('always') }),
  z.object({ kind: z.literal('slack-thread'), channel: SlackChannel, threadTs: SlackTs }),
]);
export type NotifyTarget = z.infer<typeof NotifyTarget>;

const TTL_SEC = 7 * 24 * 3600;

/**
 * Notification targets per investigation, kept apart from the investigation record: a response_url is a
 * credential for posting into a channel and must not show in `GET /v1/investigations/:id`; nor is where a
 * conversation happened (channel and thread) anyone's business who may read the investigation.
 */
export class NotifyTargets {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  private key = (id: string) => this.keys.notifyTargets(id);
  private postsKey = (id: string) => this.keys.notifyPosts(id);

  /** Adds a target; returns its index (what countPost and markFinal take). */
  async add(id: string, target: NotifyTarget): Promise<number> {
    const res = await this.redis.multi().rpush(this.key(id), JSON.stringify(NotifyTarget.parse(target))).expire(this.key(id), TTL_SEC).exec();
    const length = res?.[0]?.[1];
    if (typeof length !== 'number') throw new ServiceUnavailableError(`could not record where to post about ${id}`);
    return length - 1;
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
