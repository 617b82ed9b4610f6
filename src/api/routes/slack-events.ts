import { z } from 'zod';
import { errorMessage, type SlackMessage } from '../../chatops/blocks.ts';
import { parseChatCommand } from '../../chatops/command.ts';
import { mentionCommandText } from '../../chatops/mention.ts';
import { UnauthorizedError } from '../../core/errors.ts';
import { SlackChannel, SlackTs } from '../../notify/targets.ts';
import type { ApiDeps } from '../deps.ts';
import { defineRoute, jsonResponse, problemResponse } from '../route.ts';
import { explain, run, slackIdentity, slackSignature } from './slack.ts';
import { chatMessage } from './slack-reply.ts';

/** An event as the Events API wraps it (https://api.slack.com/apis/events-api#callback-field); only what we use is typed. */
const AppMention = z.looseObject({
  type: z.literal('app_mention'),
  user: z.string().min(1).max(64),
  text: z.string().max(40_000),
  ts: SlackTs,
  channel: SlackChannel,
  /** Present when the mention is a reply in a thread: the thread's parent. */
  thread_ts: SlackTs.optional(),
  /** Set on messages posted by bots (ours included): never acted on, so two bots cannot talk in a loop. */
  bot_id: z.string().optional(),
});

/** Every payload the Request URL receives: url_verification, event_callback, and whatever Slack adds (acknowledged). */
const EventsBody = z.looseObject({ type: z.string().min(1).max(64) });
const UrlVerification = z.looseObject({ type: z.literal('url_verification'), challenge: z.string().min(1).max(256) });
const EventCallback = z.looseObject({
  type: z.literal('event_callback'),
  event_id: z.string().min(1).max(64),
  event: z.looseObject({ type: z.string().max(64) }),
});

/** Slack retries an unacknowledged event three times within about an hour and a half; a repeat is dropped for longer. */
const EVENT_TTL_SEC = 3 * 3600;

/** Answers an @-mention in its thread: what a slash command would answer, posted there through the bot token. */
async function answerMention(deps: ApiDeps, event: z.infer<typeof AppMention>): Promise<void> {
  const slack = deps.slackApi;
  const settings = deps.slack;
  if (!slack || !settings) return;
  const threadTs = event.thread_ts ?? event.ts;
  const reply = async (m: SlackMessage) => {
    await slack.postMessage(event.channel, chatMessage(m), threadTs);
  };
  const who = slackIdentity(settings, event.user, event.channel);
  if (!who) {
    await deps.intake.audit.append({ actor: `slack:${event.user}`, action: 'access.denied', subject: 'app_mention', detail: { channel: event.channel } });
    return reply(errorMessage('You are not allowed to run investigations from here. Ask the tracehound admins to add you or this channel.'));
  }
  const cmd = parseChatCommand(mentionCommandText(event.text), { playbooks: deps.intake.playbooks.map((p) => p.name) });
  let answer: SlackMessage | null;
  try {
    answer = await run(deps, who, cmd, { kind: 'thread', channel: event.channel, threadTs });
  } catch (err) {
    answer = explain(err);
    if (!answer) throw err;
  }
  if (answer) await reply(answer);
}

export const slackEventRoutes = [
  defineRoute({
    method: 'POST',
    path: '/v1/slack/events',
    access: 'slack',
    summary: 'Slack Events API Request URL: app_mention is answered in its thread (needs SLACK_BOT_TOKEN); signed like commands',
    body: { schema: EventsBody, mediaType: 'application/json', invalid: 'not a Slack Events API payload', expected: 'a Slack Events API payload' },
    responses: {
      200: jsonResponse('acknowledged; for url_verification, the challenge', z.object({ challenge: z.string() }).partial()),
      401: problemResponse('bad or stale signature, or Slack not configured'),
    },
    handle: async (c, input, deps) => {
      const settings = deps.slack;
      if (!settings?.signingSecret) throw new UnauthorizedError('Slack is not configured on this server (SLACK_SIGNING_SECRET)');
      // The signature covers the raw bytes: verify before parsing anything (url_verification is signed too).
      const raw = await c.req.text();
      const check = slackSignature(settings.signingSecret, raw, (name) => c.req.header(name));
      if (!check.ok) {
        deps.log.warn({ reason: check.reason }, 'rejected a Slack event');
        throw new UnauthorizedError(`Slack request signature rejected: ${check.reason}`);
      }
      const payload = await input.body();
      const verification = UrlVerification.safeParse(payload);
      if (verification.success) return c.json({ challenge: verification.data.challenge });
      const callback = EventCallback.safeParse(payload);
      if (!callback.success) return c.json({});
      const body = callback.data;
      const mention = AppMention.safeParse(body.event);
      if (!mention.success || mention.data.bot_id !== undefined) return c.json({});
      // Slack retries an event it thinks went unanswered (and says so in X-Slack-Retry-Num): act on each once.
      if (!(await deps.once.claim('slack-event', body.event_id, EVENT_TTL_SEC))) return c.json({});
      if (!deps.slackApi) {
        deps.log.warn({ event: body.event_id }, 'an app_mention arrived but there is no SLACK_BOT_TOKEN to answer it with');
        return c.json({});
      }
      const work = answerMention(deps, mention.data).catch((err: unknown) => deps.log.error({ err, event: body.event_id }, 'could not answer an app_mention'));
      // Slack wants its answer within 3 s; the thread gets the real one. Where nothing runs after the response
      // (AWS Lambda), the work is done first: a late answer is retried by Slack and dropped as a repeat above.
      if (!deps.carrier.workAfterResponse) await work;
      return c.json({});
    },
  }),
];
