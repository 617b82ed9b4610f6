import type { Identity } from '../../auth/identity.ts';
import { ackMessage, type SlackMessage } from '../../chatops/blocks.ts';
import { RESULT_IN_THREAD } from '../../chatops/thread-messages.ts';
import { ServiceUnavailableError } from '../../core/errors.ts';
import type { InvestigationRequest } from '../../core/investigation.ts';
import { startInvestigation } from '../../intake/start.ts';
import { followUpLater } from '../../notify/follow-up.ts';
import { NotifyPostError } from '../../notify/post.ts';
import { allowedUrl } from '../../notify/targets.ts';
import type { ApiDeps } from '../deps.ts';

/**
 * Where a chat request's answers go. `response-url`: the slash command's response_url (no bot token, or
 * Mattermost). `thread`: the thread of an @-mention, through the bot token. `channel`: a slash command with the
 * bot token: the ack goes to the channel for everyone, the result into the ack's thread.
 */
export type ReplyTo =
  | { kind: 'response-url'; url: string }
  | { kind: 'thread'; channel: string; threadTs: string }
  | { kind: 'channel'; channel: string; responseUrl: string };

/** chat.postMessage's part of a Block Kit message. */
export const chatMessage = (m: SlackMessage) => ({ text: m.text, blocks: m.blocks });

const why = (err: unknown) => (err instanceof NotifyPostError ? err.message : 'an unexpected error');

/**
 * Starts an investigation a chat request asked for and sends its ack where `to` says, the result to follow there.
 * Returns the reply to the request itself (a slash command's HTTP answer); null when everything went to the thread.
 */
export async function startFromChat(deps: ApiDeps, who: Identity, req: InvestigationRequest, to: ReplyTo): Promise<SlackMessage | null> {
  const detail = { via: who.requestedBy.split(':')[0] };
  if (to.kind === 'response-url') {
    const canPost = allowedUrl(to.url, deps.notifyHosts);
    if (!canPost) deps.log.warn({ host: new URL(to.url).hostname }, 'response_url host not in NOTIFY_URL_HOSTS; no follow-ups');
    const inv = await startInvestigation(deps.intake, who, req, { detail, notify: canPost ? [{ kind: 'slack-response-url', url: to.url }] : [] });
    return ackMessage(inv, canPost ? undefined : `I cannot post the result here (response_url host not allowed); use \`/investigate status ${inv.id}\`.`);
  }
  const slack = deps.slackApi;
  if (!slack) throw new ServiceUnavailableError('answering in Slack threads needs SLACK_BOT_TOKEN on this server');
  // Targets are added once the ack is out (followUpLater), so the result can never come first.
  const inv = await startInvestigation(deps.intake, who, req, { detail: { ...detail, channel: to.channel } });
  const parts = { notifyTargets: deps.intake.notifyTargets, records: deps.intake.records, notifier: deps.notifier };
  const ack = ackMessage(inv, RESULT_IN_THREAD);

  if (to.kind === 'thread') {
    await slack.postMessage(to.channel, chatMessage(ack), to.threadTs).catch((err: unknown) => deps.log.warn({ err, investigation: inv.id }, 'could not post the ack in the thread'));
    await followUpLater(parts, inv.id, { kind: 'slack-thread', channel: to.channel, threadTs: to.threadTs });
    return null;
  }

  try {
    const posted = await slack.postMessage(to.channel, chatMessage(ack));
    await followUpLater(parts, inv.id, { kind: 'slack-thread', channel: posted.channel, threadTs: posted.ts });
    return ackMessage(inv, 'Posted in the channel; the result follows in its thread.');
  } catch (err) {
    // Say a private channel the bot was never invited to: the command still works, answered the old way.
    deps.log.warn({ err, investigation: inv.id, channel: to.channel }, 'could not post the ack in the channel; answering on response_url');
    if (!allowedUrl(to.responseUrl, deps.notifyHosts)) {
      return ackMessage(inv, `I could not post in this channel (${why(err)}); use \`/investigate status ${inv.id}\`.`);
    }
    await followUpLater(parts, inv.id, { kind: 'slack-response-url', url: to.responseUrl });
    return ackMessage(inv, `I could not post in this channel (${why(err)}); the result follows here.`);
  }
}
