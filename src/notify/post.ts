import { refusedUrl, type NotifyHost } from './targets.ts';

/**
 * How a post ended, as counted in tracehound_notifications_total{result}. `rejected`: Slack's Web API answered
 * `ok: false` with an error no retry can change (a channel the bot is not in, a revoked token).
 */
export type PostResult = 'ok' | 'refused' | 'rejected' | 'redirect' | 'timeout' | 'error' | `http_${number}`;

/** A post that did not deliver; `result` says how, for the metric and for the decision to retry. */
export class NotifyPostError extends Error {
  constructor(
    readonly result: Exclude<PostResult, 'ok'>,
    message: string,
  ) {
    super(message);
    this.name = 'NotifyPostError';
  }
}

/** Retrying cannot change these: the URL is not allowed, or Slack refused the call for good. */
export const isPermanent = (err: NotifyPostError) => err.result === 'refused' || err.result === 'rejected';

export interface PostOptions {
  hosts: readonly NotifyHost[];
  timeoutMs: number;
  /** Extra request headers (the Web API's bearer token); never logged. */
  headers?: Record<string, string>;
}

/**
 * POSTs JSON to a URL NOTIFY_URL_HOSTS allows and returns the answer's body (its first 64 KiB). Redirects are
 * never followed: an allowed host answering 3xx would otherwise carry the message, signed report links and a bot
 * token included, to a host nobody allowed. Anything but a 2xx within `timeoutMs` throws NotifyPostError.
 */
export async function postJson(url: string, message: unknown, opts: PostOptions): Promise<string> {
  const refused = refusedUrl(url, opts.hosts);
  if (refused) throw new NotifyPostError('refused', `refusing to post: ${refused}`);
  const where = new URL(url).host;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...opts.headers },
      body: JSON.stringify(message),
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    if (err instanceof Error && err.name === 'TimeoutError') throw new NotifyPostError('timeout', `${where} did not answer within ${opts.timeoutMs} ms`);
    throw new NotifyPostError('error', `posting to ${where} failed: ${(err as Error).message}`);
  }
  const body = (await res.text().catch(() => '')).slice(0, 65_536);
  if (res.status >= 300 && res.status < 400) {
    throw new NotifyPostError('redirect', `${where} answered ${res.status} (to ${res.headers.get('location') ?? 'nowhere'}); redirects are not followed`);
  }
  if (!res.ok) throw new NotifyPostError(`http_${res.status}`, `${where} answered ${res.status}: ${body.slice(0, 200)}`);
  return body;
}

/** Posts one chat notification (a response_url or an incoming webhook); see postJson. */
export async function postNotification(url: string, message: unknown, opts: { hosts: readonly NotifyHost[]; timeoutMs: number }): Promise<void> {
  await postJson(url, message, opts);
}
