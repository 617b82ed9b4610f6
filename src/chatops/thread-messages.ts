/**
 * Messages of Slack threads (chat.postMessage through the bot token): an alert group's top-level post and the
 * follow-up when it resolves. Results in a thread are finalMessage (blocks.ts); acks are ackMessage.
 */
import type { Investigation } from '../core/investigation.ts';
import { formatElapsedMs, formatTarget, headlineOf } from '../report/view.ts';
import { LIMITS, type SlackMessage } from './blocks.ts';
import { escapeMrkdwn as esc, truncateText } from './mrkdwn.ts';

const section = (text: string) => ({ type: 'section' as const, text: { type: 'mrkdwn' as const, text: truncateText(text, LIMITS.sectionText) } });
const context = (text: string) => ({ type: 'context' as const, elements: [{ type: 'mrkdwn' as const, text: truncateText(text, LIMITS.sectionText) }] });
const message = (text: string, blocks: SlackMessage['blocks']): SlackMessage => ({ response_type: 'in_channel', text: truncateText(text, LIMITS.fallbackText), blocks });

/** Said in the ack of a request made in a thread, or of a slash command whose result goes in the ack's thread. */
export const RESULT_IN_THREAD = 'The result follows in this thread.';

export interface FiringGroup {
  /** The alert names of the group, distinct, in payload order. */
  alertnames: readonly string[];
  alerts: number;
  groupLabels: Readonly<Record<string, string>>;
  /** The investigations this delivery started. */
  started: readonly { id: string; playbook: string; target?: object; symptom?: string }[];
}

/** The one top-level post of an alert group: what fires, and what is being investigated. */
export function alertFiringMessage(g: FiringGroup): SlackMessage {
  const names = g.alertnames.length ? g.alertnames.join(', ') : 'an alert';
  const labels = Object.entries(g.groupLabels).map(([k, v]) => `${k}=${v}`).join(' ');
  const head = `:rotating_light: *${esc(names)}* firing${g.alerts > 1 ? ` (${g.alerts} alerts)` : ''}${labels ? ` — ${esc(labels)}` : ''}`;
  const lines = g.started.map(
    (s) => `• \`${esc(s.id)}\` *${esc(s.playbook)}* on ${esc(formatTarget(s.target))}${s.symptom ? `: ${esc(truncateText(s.symptom, 300))}` : ''}`,
  );
  const blocks = [section(head), section(`Investigating:\n${lines.join('\n')}`), context('Results, and the resolution, follow in this thread.')];
  return message(`${names} firing: investigating ${g.started.map((s) => s.id).join(', ')}`, blocks);
}

const clock = (d: Date) => `${d.toISOString().slice(11, 16)} UTC`;

/**
 * The follow-up when the group resolves: when, after how long, and what each investigation found (its headline,
 * which says so when nothing explained the symptom; or that it is still running).
 */
export function alertResolvedMessage(r: { firedAt: Date; resolvedAt: Date; investigations: readonly Investigation[]; missing: readonly string[] }): SlackMessage {
  const after = formatElapsedMs(Math.max(0, r.resolvedAt.getTime() - r.firedAt.getTime()));
  const found = r.investigations.map((inv) =>
    inv.status === 'queued' || inv.status === 'running'
      ? `investigation \`${esc(inv.id)}\` is still ${inv.status}`
      : `investigation \`${esc(inv.id)}\` found: ${esc(truncateText(headlineOf(inv), 500))}`,
  );
  for (const id of r.missing) found.push(`investigation \`${esc(id)}\` is no longer on record`);
  const head = `:white_check_mark: Resolved at ${clock(r.resolvedAt)} after ${after}`;
  const text = found.length === 1 ? `${head}; ${found[0]}` : `${head}.${found.map((f) => `\n• ${f}`).join('')}`;
  return message(text.replace(/`/g, ''), [section(text)]);
}
