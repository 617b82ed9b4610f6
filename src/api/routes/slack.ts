import { z } from 'zod';
import type { SlackRule } from '../../auth/access-file.ts';
import { canSee } from '../../auth/authorize.ts';
import { sameSecret } from '../../auth/credentials.ts';
import { identity, type Identity } from '../../auth/identity.ts';
import { errorMessage, helpMessage, statusMessage, sweepsMessage, type SlackMessage } from '../../chatops/blocks.ts';
import { parseChatCommand, type ChatCommand } from '../../chatops/command.ts';
import { verifySlackSignature } from '../../chatops/signature.ts';
import { ForbiddenError, TracehoundError, UnauthorizedError, ValidationError } from '../../core/errors.ts';
import { InvestigationRequest } from '../../core/investigation.ts';
import { cancelInvestigation } from '../../intake/cancel.ts';
import { postNotification } from '../../notify/post.ts';
import { allowedUrl } from '../../notify/targets.ts';
import { messageLinks } from '../../notify/links.ts';
import type { ApiDeps, SlackSettings } from '../deps.ts';
import { fieldErrors } from '../problem.ts';
import { defineRoute, jsonResponse, problemResponse } from '../route.ts';
import { startFromChat, type ReplyTo } from './slack-reply.ts';

/** The slash command form Slack (and Mattermost) posts; only the fields we use are checked. */
const SlashCommand = z.looseObject({
  command: z.string().max(64),
  text: z.string().max(4000).default(''),
  user_id: z.string().min(1).max(64),
  user_name: z.string().max(128).optional(),
  channel_id: z.string().min(1).max(64),
  response_url: z.url({ protocol: /^https?$/ }),
  trigger_id: z.string().min(1).max(256),
});

/** Slack shows an error when the reply takes over 3 s; leave room for the network. */
export const ACK_WITHIN_MS = 2500;

/** What a button click reports (https://api.slack.com/reference/interaction-payloads/block-actions). */
const InteractionPayload = z.looseObject({
  type: z.string().max(64),
  user: z.looseObject({ id: z.string().max(64) }).optional(),
  actions: z.array(z.looseObject({ action_id: z.string().max(255) })).max(25).optional(),
});

const parseJsonOrNull = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};

/** The interactivity form: one field, `payload`, holding the JSON of the interaction. */
const InteractionForm = z.object({ payload: z.string().transform(parseJsonOrNull).pipe(InteractionPayload) });

/** The outline of a SlackMessage (src/chatops/blocks.ts), what a client may rely on; the blocks are Slack's Block Kit. */
const Message = z.looseObject({ response_type: z.enum(['ephemeral', 'in_channel']), text: z.string(), blocks: z.array(z.looseObject({ type: z.string() })) });

/** A retried delivery gets the first answer again; kept long enough to cover Slack's retries. */
const TRIGGER_TTL_SEC = 3600;

/** Chat users and channels as identities: `slack:<user>`, limited by the first ACCESS_FILE rule that matches. */
export function slackIdentity(settings: SlackSettings, user: string, channel: string, platform: 'slack' | 'mattermost' = 'slack'): Identity | null {
  if (settings.rules.length === 0) return identity(`${platform}:${user}`, ['investigations:read', 'investigations:write']);
  const rule: SlackRule | undefined = settings.rules.find((r) => (!r.users || r.users.includes(user)) && (!r.channels || r.channels.includes(channel)));
  if (!rule) return null;
  return identity(`${platform}:${user}`, rule.write ? ['investigations:read', 'investigations:write'] : ['investigations:read'], {
    namespaces: rule.namespaces ?? null,
    playbooks: rule.playbooks ?? null,
  });
}

/** Slack's signature of a request, from its headers, over the raw body, against the clock now. */
export const slackSignature = (secret: string, raw: string, header: (name: string) => string | undefined) =>
  verifySlackSignature({
    signingSecret: secret,
    timestamp: header('x-slack-request-timestamp'),
    signature: header('x-slack-signature'),
    rawBody: raw,
    nowSec: Math.floor(Date.now() / 1000),
  });

/**
 * Slack signs requests (checked when the X-Slack-Signature header is present); Mattermost sends the command's
 * token, as `Authorization: Token …` and in the form. Either must check out before the body is looked at.
 */
function authenticateChat(
  settings: SlackSettings,
  raw: string,
  header: (name: string) => string | undefined,
): { ok: true; platform: 'slack' | 'mattermost' } | { ok: false; reason: string } {
  if (header('x-slack-signature') !== undefined || !settings.mattermostToken) {
    if (!settings.signingSecret) return { ok: false, reason: 'Slack is not configured (SLACK_SIGNING_SECRET)' };
    const check = slackSignature(settings.signingSecret, raw, header);
    return check.ok ? { ok: true, platform: 'slack' } : { ok: false, reason: `Slack request signature rejected: ${check.reason}` };
  }
  const presented = /^Token\s+(\S+)$/i.exec(header('authorization') ?? '')?.[1] ?? new URLSearchParams(raw).get('token') ?? '';
  return sameSecret(presented, settings.mattermostToken)
    ? { ok: true, platform: 'mattermost' }
    : { ok: false, reason: 'Mattermost command token does not match' };
}

/** Errors become a short ephemeral reply naming what to fix; never a stack trace. */
export function explain(err: unknown): SlackMessage | null {
  if (err instanceof ValidationError) {
    const fields = err.errors.map((e) => `• ${e.path}: ${e.message}`).join('\n');
    return errorMessage(`${err.message}${fields ? `\n${fields}` : ''}\nTry \`/investigate help\`.`);
  }
  // A refusal says which fields to drop (say target.cgroup for a channel limited to namespaces).
  if (err instanceof ForbiddenError && err.errors.length > 0) {
    return errorMessage(`${err.message}\n${err.errors.map((e) => `• ${e.path}: ${e.message}`).join('\n')}`);
  }
  if (err instanceof TracehoundError) return errorMessage(err.message);
  return null;
}

export const slackRoutes = [
  // Slack's interactivity Request URL. The messages' buttons are links (the browser opens them), but with
  // interactivity on Slack also reports each click here and shows an error unless it is acknowledged.
  defineRoute({
    method: 'POST',
    path: '/v1/chatops/slack/interactions',
    access: 'slack',
    summary: "Slack interactivity Request URL: acknowledges clicks on the messages' link buttons (signed like commands)",
    body: { schema: InteractionForm, mediaType: 'application/x-www-form-urlencoded', invalid: 'not a Slack interaction payload' },
    responses: { 200: { description: 'acknowledged' }, 401: problemResponse('bad or stale signature, or Slack not configured') },
    handle: async (c, input, deps) => {
      const settings = deps.slack;
      if (!settings?.signingSecret) throw new UnauthorizedError('Slack is not configured on this server (SLACK_SIGNING_SECRET)');
      const raw = await c.req.text();
      const check = slackSignature(settings.signingSecret, raw, (name) => c.req.header(name));
      if (!check.ok) throw new UnauthorizedError(`Slack request signature rejected: ${check.reason}`);
      const { payload } = await input.body();
      deps.log.debug({ user: payload.user?.id, actions: payload.actions?.map((a) => a.action_id) }, 'Slack interaction acknowledged');
      return c.body(null, 200);
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/chatops/slack/commands',
    access: 'slack',
    summary: 'Slack slash command /investigate (form-encoded, signed with the Slack signing secret; or a Mattermost command token)',
    body: { schema: SlashCommand, mediaType: 'application/x-www-form-urlencoded', invalid: 'not a slash command payload' },
    responses: {
      200: jsonResponse('an ephemeral reply (Block Kit); follow-ups go to response_url', Message),
      401: problemResponse('bad or stale signature, or ChatOps not configured'),
    },
    handle: async (c, input, deps) => {
      const settings = deps.slack;
      if (!settings) throw new UnauthorizedError('ChatOps is not configured on this server (SLACK_SIGNING_SECRET or MATTERMOST_COMMAND_TOKEN)');
      // The signature covers the raw bytes: verify before parsing anything.
      const raw = await c.req.text();
      const chat = authenticateChat(settings, raw, (name) => c.req.header(name));
      if (!chat.ok) {
        deps.log.warn({ reason: chat.reason }, 'rejected a slash command');
        throw new UnauthorizedError(`slash command rejected: ${chat.reason}`);
      }
      const cmd = await input.body();

      if (!(await deps.once.claim('slack-trigger', cmd.trigger_id, TRIGGER_TTL_SEC))) {
        const first = await deps.once.get('slack-trigger', cmd.trigger_id);
        return c.json(first && first !== 'pending' ? (JSON.parse(first) as unknown) : errorMessage('Already received; working on it.'));
      }
      const answer = async (m: SlackMessage) => {
        await deps.once.set('slack-trigger', cmd.trigger_id, JSON.stringify(m), TRIGGER_TTL_SEC);
        return c.json(m);
      };

      const who = slackIdentity(settings, cmd.user_id, cmd.channel_id, chat.platform);
      if (!who) {
        await deps.intake.audit.append({ actor: `${chat.platform}:${cmd.user_id}`, action: 'access.denied', subject: cmd.command, detail: { channel: cmd.channel_id } });
        return answer(errorMessage('You are not allowed to run investigations from here. Ask the tracehound admins to add you or this channel.'));
      }
      const parsed = parseChatCommand(cmd.text, { playbooks: deps.intake.playbooks.map((p) => p.name) });
      // With a bot token, an investigation is announced in the channel and answered in that message's thread.
      const to: ReplyTo =
        deps.slackApi && chat.platform === 'slack'
          ? { kind: 'channel', channel: cmd.channel_id, responseUrl: cmd.response_url }
          : { kind: 'response-url', url: cmd.response_url };
      const work = run(deps, who, parsed, to).then(
        (m) => m,
        async (err: unknown) => {
          const m = explain(err);
          if (m) return m;
          deps.log.error({ err }, 'slash command failed');
          await deps.once.release('slack-trigger', cmd.trigger_id);
          return null;
        },
      );
      // Slack gives up after 3 s. A slow dependency (the Kubernetes API, say) must not cost the user their answer:
      // past ACK_WITHIN_MS they get "working on it" now and the real reply on response_url when it is ready.
      // Where nothing runs after the response (AWS Lambda), the answer waits for the work instead.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((ok) => (timer = setTimeout(() => ok('late'), ACK_WITHIN_MS)));
      const first = deps.carrier.workAfterResponse ? await Promise.race([work, late]) : await work;
      clearTimeout(timer);
      if (first === 'late') {
        void work.then(async (m) => {
          if (!m || !allowedUrl(cmd.response_url, deps.notifyHosts)) return;
          await deps.once.set('slack-trigger', cmd.trigger_id, JSON.stringify(m), TRIGGER_TTL_SEC);
          await postNotification(cmd.response_url, m, { hosts: deps.notifyHosts, timeoutMs: 10_000 }).catch((err: unknown) =>
            deps.log.warn({ err }, 'could not post a late slash command reply'),
          );
        });
        return c.json(errorMessage('Working on it; the answer follows here in a moment.'));
      }
      if (!first) return c.json(errorMessage('Something went wrong on our side; it is in the server log. Try again in a moment.'));
      return answer(first);
    },
  }),
];

/**
 * What a chat command does, and its answer to the request; null when the answer went elsewhere (an @-mention's
 * investigation: ack and result in its thread).
 */
export async function run(deps: ApiDeps, who: Identity, cmd: ChatCommand, to: ReplyTo): Promise<SlackMessage | null> {
  const playbookInfo = deps.intake.playbooks.map((p) => ({ name: p.name, title: p.title }));
  const visible = async (id: string) => {
    const inv = await deps.intake.records.find(id);
    return inv && canSee(who, inv) ? inv : null;
  };
  switch (cmd.kind) {
    case 'help':
      return helpMessage(cmd.topic, playbookInfo);
    case 'invalid':
      return errorMessage(cmd.message);
    case 'status': {
      const inv = await visible(cmd.id);
      return inv ? statusMessage(inv, messageLinks(inv, deps.links)) : errorMessage(`No investigation ${cmd.id}.`);
    }
    case 'cancel': {
      const inv = await visible(cmd.id);
      if (!inv) return errorMessage(`No investigation ${cmd.id}.`);
      if (!who.scopes.has('investigations:write')) return errorMessage('You may look but not cancel.');
      const after = await cancelInvestigation({ ...deps.intake, notifier: deps.notifier }, who, inv);
      return errorMessage(after.status === 'cancelled' ? `Cancelled ${inv.id} before it started.` : `Cancelling ${inv.id}: its captures stop now.`);
    }
    case 'sweeps': {
      const schedules = (await deps.schedules.list()).filter((s) => canSee(who, s));
      const last = await Promise.all(schedules.map((s) => (s.lastInvestigation ? deps.intake.records.find(s.lastInvestigation) : null)));
      return sweepsMessage(
        schedules.map((s, i) => {
          const inv = last[i];
          return {
            name: s.name,
            ...(s.cron ? { cron: s.cron } : {}),
            ...(s.every ? { every: s.every } : {}),
            playbook: s.playbook,
            ...(s.target ? { target: s.target } : {}),
            nextRunAt: s.nextRunAt,
            lastInvestigation: inv ? { id: inv.id, status: inv.status, ...(inv.summary ? { headline: inv.summary.headline } : {}) } : null,
          };
        }),
      );
    }
    case 'investigate': {
      const req = InvestigationRequest.safeParse({
        ...(cmd.playbook ? { playbook: cmd.playbook } : {}),
        ...(cmd.symptom ? { symptom: cmd.symptom } : {}),
        ...(Object.keys(cmd.target).length ? { target: cmd.target } : {}),
        params: cmd.params,
      });
      if (!req.success) throw new ValidationError('that request does not check out', fieldErrors(req.error));
      return startFromChat(deps, who, req.data, to);
    }
  }
}
