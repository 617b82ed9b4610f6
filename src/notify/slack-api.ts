import { z } from 'zod';
import { NotifyPostError, postJson } from './post.ts';
import { SlackChannel, SlackTs, type NotifyHost } from './targets.ts';

/** Slack's Web API, where it really is; SLACK_API_URL points elsewhere (a test's fake, a proxy). */
export const DEFAULT_SLACK_API_URL = 'https://slack.com/api';

/** What chat.postMessage answers (https://api.slack.com/methods/chat.postMessage); only what we use is typed. */
const PostMessageAnswer = z.discriminatedUnion('ok', [
  z.looseObject({ ok: z.literal(true), channel: SlackChannel, ts: SlackTs }),
  z.looseObject({ ok: z.literal(false), error: z.string().max(200).default('unknown_error') }),
]);

/** Errors Slack documents as temporary: the post is retried (with the notification job's backoff). */
const TRANSIENT = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org']);

/** The part of a Block Kit message chat.postMessage takes (response_type and replace_original are response_url's). */
export interface ChatMessage {
  text: string;
  blocks?: readonly unknown[];
}

/**
 * Slack's Web API with a bot token: posting into a channel or a thread, which a response_url cannot (it answers
 * only the command, at most five times, for half an hour). Calls go through the same door as every notification
 * (NOTIFY_URL_HOSTS, no redirects, a timeout), so the token is only ever sent to an allowed host.
 */
export class SlackApi {
  constructor(
    private readonly opts: {
      token: string;
      baseUrl: string;
      hosts: readonly NotifyHost[];
      timeoutMs: number;
    },
  ) {}

  /** Posts a message, top-level or (with threadTs) as a reply in that thread; returns where it landed. */
  async postMessage(channel: string, message: ChatMessage, threadTs?: string): Promise<{ channel: string; ts: string }> {
    const body = {
      channel,
      text: message.text,
      ...(message.blocks ? { blocks: message.blocks } : {}),
      ...(threadTs ? { thread_ts: threadTs } : {}),
      // Links to reports and artifacts are signed and private: no previews fetched by Slack's unfurler.
      unfurl_links: false,
      unfurl_media: false,
    };
    const raw = await postJson(`${this.opts.baseUrl.replace(/\/+$/, '')}/chat.postMessage`, body, {
      hosts: this.opts.hosts,
      timeoutMs: this.opts.timeoutMs,
      headers: { authorization: `Bearer ${this.opts.token}` },
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new NotifyPostError('error', 'chat.postMessage answered something that is not JSON');
    }
    const answer = PostMessageAnswer.safeParse(parsed);
    if (!answer.success) throw new NotifyPostError('error', 'chat.postMessage answered without ok, channel and ts');
    if (!answer.data.ok) {
      const error = answer.data.error;
      throw new NotifyPostError(TRANSIENT.has(error) ? 'error' : 'rejected', `chat.postMessage to ${channel} failed: ${error}`);
    }
    return { channel: answer.data.channel, ts: answer.data.ts };
  }
}

/** The Web API client the configuration asks for: null without SLACK_BOT_TOKEN. */
export function slackApiOf(config: { SLACK_BOT_TOKEN?: string | undefined; SLACK_API_URL: string; NOTIFY_URL_HOSTS: readonly NotifyHost[]; NOTIFY_TIMEOUT: number }): SlackApi | null {
  if (!config.SLACK_BOT_TOKEN) return null;
  return new SlackApi({ token: config.SLACK_BOT_TOKEN, baseUrl: config.SLACK_API_URL, hosts: config.NOTIFY_URL_HOSTS, timeoutMs: config.NOTIFY_TIMEOUT });
}
