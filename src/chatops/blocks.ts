import { z } from 'zod';
import { formatDurationMs } from '../core/duration.ts';
import { formatShare, plural } from '../core/format.ts';
import { isTerminal, type Investigation, type InvestigationStatus, type Severity, type Step } from '../core/investigation.ts';
import { TopFunction } from '../core/tool-results.ts';
import { helpText, type PlaybookInfo } from './help.ts';
import { escapeMrkdwn, truncateText } from './mrkdwn.ts';

/*
 * Slack Block Kit messages for the slash command's replies. Limits from the Block Kit reference
 * (https://api.slack.com/reference/block-kit/blocks): 50 blocks per message; section text 3000 characters; header
 * text 150 characters of plain_text; context at most 10 elements; image_url 3000 and alt_text 2000 characters;
 * button text 75 and url 3000 characters; at most 25 elements in an actions block. Slack refuses the whole message
 * when one field is over its limit, so every field is cut to size here, ending in "…".
 *
 * Text that comes from an investigation (headlines, findings, function names, targets, reasons) is escaped with
 * escapeMrkdwn: a finding that quotes "<unknown>" must not become a link, nor "&lt;" an angle bracket.
 */

export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  contextElements: 10,
  buttonText: 75,
  url: 3000,
  actionsElements: 25,
  altText: 2000,
  /** Slack truncates `text` at 40,000 characters; notifications show far less, so the fallback stays short. */
  fallbackText: 1000,
} as const;

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}
export interface MrkdwnText {
  type: 'mrkdwn';
  text: string;
}
export interface HeaderBlock {
  type: 'header';
  text: PlainText;
}
export interface SectionBlock {
  type: 'section';
  text: MrkdwnText;
}
export interface DividerBlock {
  type: 'divider';
}
export interface ContextBlock {
  type: 'context';
  elements: MrkdwnText[];
}
export interface ImageBlock {
  type: 'image';
  image_url: string;
  alt_text: string;
  title?: PlainText;
}
/** A link button: Slack opens the url (and still sends an interaction payload, which the app only has to ack). */
export interface LinkButton {
  type: 'button';
  text: PlainText;
  url: string;
  action_id: string;
  style?: 'primary' | 'danger';
}
export interface ActionsBlock {
  type: 'actions';
  elements: LinkButton[];
}
export type Block = HeaderBlock | SectionBlock | DividerBlock | ContextBlock | ImageBlock | ActionsBlock;

/** The body for a slash command's HTTP response or a POST to its response_url. */
export interface SlackMessage {
  response_type: 'ephemeral' | 'in_channel';
  /** Fallback for notifications and clients that cannot show blocks; Slack mrkdwn, escaped. */
  text: string;
  blocks: Block[];
  replace_original?: boolean;
}

export interface ResultLinks {
  report?: string;
  flamegraph?: string;
  flamegraphPng?: string;
  /** Where the investigation itself can be looked at; the id in the context line links there. */
  self?: string;
}

export interface ScheduleInfo {
  name: string;
  cron?: string;
  /** Interval in milliseconds. */
  every?: number;
  playbook: string;
  target?: object;
  nextRunAt?: string | null;
  lastInvestigation?: { id: string; status: string; headline?: string } | null;
}

const MAX_FINDINGS = 8;
const MAX_PROFILES = 3;
const MAX_FUNCTIONS = 8;
const MAX_LISTED_STEPS = 10;
const MAX_SWEEPS = 45;

const STATUS_ICON: Record<InvestigationStatus, string> = {
  queued: ':hourglass_flowing_sand:',
  running: ':arrows_counterclockwise:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  cancelled: ':no_entry_sign:',
};
const SEVERITY_ICON: Record<Severity, string> = { critical: ':red_circle:', warning: ':warning:', info: ':information_source:' };
const FINISHED_STEP = new Set<Step['status']>(['succeeded', 'failed', 'skipped', 'cancelled']);

const esc = escapeMrkdwn;
const statusIcon = (status: string) => (Object.hasOwn(STATUS_ICON, status) ? STATUS_ICON[status as InvestigationStatus] : ':grey_question:');

const header = (text: string): HeaderBlock => ({
  type: 'header',
  text: { type: 'plain_text', text: truncateText(text, LIMITS.headerText), emoji: true },
});
/** `text` must already be mrkdwn (escaped where it came from outside). */
const section = (text: string): SectionBlock => ({ type: 'section', text: { type: 'mrkdwn', text: truncateText(text, LIMITS.sectionText) } });
const context = (...parts: string[]): ContextBlock => ({
  type: 'context',
  elements: parts.slice(0, LIMITS.contextElements).map((t) => ({ type: 'mrkdwn', text: truncateText(t, LIMITS.sectionText) })),
});

/** Only absolute http(s) URLs that fit: a URL cannot be shortened, so one that is too long is left out instead. */
function usableUrl(url: string | undefined): string | undefined {
  if (url === undefined || url.length > LIMITS.url) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** `<url|label>`, with the characters that would end the link syntax early percent-encoded; the label alone without a usable url. */
function mrkdwnLink(url: string | undefined, label: string): string {
  const ok = usableUrl(url);
  if (ok === undefined) return label;
  return `<${ok.replace(/[\s|<>]/g, (c) => encodeURIComponent(c)).replace(/&/g, '&amp;')}|${label}>`;
}

function button(label: string, url: string | undefined, actionId: string, style?: 'primary'): LinkButton | undefined {
  const ok = usableUrl(url);
  if (ok === undefined) return undefined;
  return {
    type: 'button',
    text: { type: 'plain_text', text: truncateText(label, LIMITS.buttonText), emoji: true },
    url: ok,
    action_id: actionId,
    ...(style ? { style } : {}),
  };
}

function message(responseType: SlackMessage['response_type'], fallback: string, blocks: Block[]): SlackMessage {
  let fitted = blocks;
  if (blocks.length > LIMITS.blocks) {
    const left = blocks.length - (LIMITS.blocks - 1);
    fitted = [...blocks.slice(0, LIMITS.blocks - 1), context(`… ${plural(left, 'more block')} left out`)];
  }
  return { response_type: responseType, text: truncateText(fallback, LIMITS.fallbackText), blocks: fitted };
}

/** "pod=shop/cart-7d9f", "node=node-17 pid=42", or "all nodes" for fleet-wide runs. Not escaped. */
export function formatTarget(target: object | undefined): string {
  const parts = Object.entries(target ?? {})
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return parts.length ? parts.join(' ') : 'all nodes';
}

/** Slack user ids become mentions, which render as the person's name; anything else is shown as it is. */
function requester(requestedBy: string): string {
  const m = /^slack:([UW][A-Z0-9]{2,})$/.exec(requestedBy);
  return m ? `<@${m[1]}>` : esc(requestedBy);
}

function elapsed(inv: Investigation): string | undefined {
  if (!inv.finishedAt) return undefined;
  const ms = Date.parse(inv.finishedAt) - Date.parse(inv.startedAt ?? inv.createdAt);
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

const stepName = (s: Step) => `*${esc(truncateText(s.title ?? s.id, 150))}* (\`${esc(s.tool)}\`${s.node ? ` on ${esc(s.node)}` : ''})`;

function stepCounts(inv: Investigation): { done: number; total: number; running: Step[] } {
  return {
    done: inv.steps.filter((s) => FINISHED_STEP.has(s.status)).length,
    total: inv.steps.length,
    running: inv.steps.filter((s) => s.status === 'running'),
  };
}

function listWithMore(items: string[], max: number, noun: string): string {
  const shown = items.slice(0, max);
  if (items.length > max) shown.push(`+${items.length - max} more ${noun}`);
  return shown.join('\n');
}

/** The immediate answer to a slash command: only the person who asked sees it. */
export function ackMessage(inv: { id: string; playbook: string; target?: object }, extra?: string): SlackMessage {
  const target = formatTarget(inv.target);
  const blocks: Block[] = [section(`${STATUS_ICON.queued} Queued \`${esc(inv.id)}\`: *${esc(inv.playbook)}* on ${esc(target)}`)];
  if (extra) blocks.push(context(esc(extra)));
  return message('ephemeral', `Queued ${esc(inv.id)}: ${esc(inv.playbook)} on ${esc(target)}${extra ? `. ${esc(extra)}` : ''}`, blocks);
}

export function progressMessage(inv: Investigation): SlackMessage {
  const target = esc(formatTarget(inv.target));
  const { done, total, running } = stepCounts(inv);
  const progress = total > 0 ? `${done}/${total} steps done` : inv.status === 'queued' ? 'waiting for a worker' : 'no steps yet';
  const blocks: Block[] = [
    section(`${statusIcon(inv.status)} \`${esc(inv.id)}\` *${esc(inv.playbook)}* on ${target} is *${inv.status}*: ${progress}`),
  ];
  if (running.length) {
    blocks.push(section(`Running now:\n${listWithMore(running.map((s) => `• ${stepName(s)}`), MAX_LISTED_STEPS, 'steps')}`));
  }
  return message('ephemeral', `${esc(inv.id)} (${esc(inv.playbook)} on ${target}) is ${inv.status}: ${progress}`, blocks);
}

function findingBlocks(inv: Investigation): Block[] {
  const findings = inv.summary?.findings ?? [];
  if (findings.length === 0) return [];
  const blocks: Block[] = findings.slice(0, MAX_FINDINGS).map((f) => {
    const title = `${SEVERITY_ICON[f.severity]} _${f.severity}_ *${esc(truncateText(f.title.replace(/\s+/g, ' '), 300))}*`;
    return section(`${title}\n${truncateText(esc(f.detail), LIMITS.sectionText - title.length - 1)}`);
  });
  if (findings.length > MAX_FINDINGS) {
    blocks.push(context(`+${findings.length - MAX_FINDINGS} more findings in the report`));
  }
  return blocks;
}

const ProfileSummary = z.object({ samples: z.number(), topFunctions: z.array(TopFunction) });

/** A code block cannot contain its own fence; function names with backquotes (rare, but seen in JIT names) lose them. */
const codeSafe = (s: string) => esc(s.replace(/`/g, "'"));

function profileBlocks(inv: Investigation): Block[] {
  const profiles = inv.steps.flatMap((s) => {
    if (s.tool !== 'profile') return [];
    const r = ProfileSummary.safeParse(s.result);
    return r.success && r.data.topFunctions.length > 0 ? [{ step: s, result: r.data }] : [];
  });
  const blocks: Block[] = profiles.slice(0, MAX_PROFILES).map(({ step, result }) => {
    const rows = result.topFunctions
      .slice(0, MAX_FUNCTIONS)
      .map((f) => `${formatShare(f.self).padStart(6)} ${formatShare(f.total).padStart(6)}  ${codeSafe(truncateText(f.name, 120))}`);
    const where = step.node ? ` on ${esc(step.node)}` : '';
    return section(`*Top functions*${where} (${plural(result.samples, 'sample')})\n\`\`\`\n  self  total  function\n${rows.join('\n')}\n\`\`\``);
  });
  if (profiles.length > MAX_PROFILES) blocks.push(context(`+${profiles.length - MAX_PROFILES} more profiles in the report`));
  return blocks;
}

function unfinishedSteps(inv: Investigation): Block[] {
  const bad = inv.steps.filter((s) => s.status === 'failed' || s.status === 'cancelled' || (s.status === 'skipped' && s.reason));
  if (bad.length === 0) return [];
  const lines = bad.map((s) => `• ${stepName(s)}: ${s.status}${s.reason ? `: ${esc(truncateText(s.reason.replace(/\s+/g, ' '), 300))}` : ''}`);
  return [section(`Steps that did not succeed:\n${listWithMore(lines, MAX_LISTED_STEPS, 'steps')}`)];
}

function headlineText(inv: Investigation): string {
  const headline = inv.summary?.headline;
  const reason = inv.reason ? esc(truncateText(inv.reason, 1000)) : undefined;
  const lines: string[] = [];
  if (headline) lines.push(`*${esc(truncateText(headline.replace(/\s+/g, ' '), 1000))}*`);
  if (inv.status === 'failed') lines.push(`Failed: ${reason ?? 'no reason was recorded'}`);
  else if (inv.status === 'cancelled') lines.push(`Cancelled${reason ? `: ${reason}` : ''}`);
  else if (!headline) lines.push(isTerminal(inv.status) ? 'Finished without a summary.' : `Still ${inv.status}.`);
  return lines.join('\n');
}

function resultMessage(inv: Investigation, links: ResultLinks, responseType: SlackMessage['response_type']): SlackMessage {
  const target = formatTarget(inv.target);
  const blocks: Block[] = [
    header(`${statusIcon(inv.status)} ${inv.playbook} ${inv.status} on ${target}`),
    section(headlineText(inv)),
    ...findingBlocks(inv),
    ...profileBlocks(inv),
    ...(inv.status === 'succeeded' ? [] : unfinishedSteps(inv)),
  ];

  const meta = [
    // Code spans show links as plain text, so the id is either a link or code, not both.
    usableUrl(links.self) ? mrkdwnLink(links.self, esc(inv.id)) : `\`${esc(inv.id)}\``,
    esc(target),
    `requested by ${requester(inv.requestedBy)}`,
  ];
  const took = elapsed(inv);
  if (took) meta.push(`took ${took}`);
  const ctx = [meta.join(' · ')];
  if (inv.symptom) ctx.push(`Symptom: ${esc(truncateText(inv.symptom.replace(/\s+/g, ' '), 500))}`);
  blocks.push(context(...ctx));

  const png = usableUrl(links.flamegraphPng);
  if (png) {
    blocks.push({
      type: 'image',
      image_url: png,
      alt_text: truncateText(`CPU flamegraph of ${target} (${inv.playbook}, ${inv.id})`, LIMITS.altText),
      title: { type: 'plain_text', text: 'Flamegraph', emoji: false },
    });
  }
  const buttons = [button('Open report', links.report, 'open_report', 'primary'), button('Flamegraph', links.flamegraph, 'open_flamegraph')].filter(
    (b): b is LinkButton => b !== undefined,
  );
  if (buttons.length) blocks.push({ type: 'actions', elements: buttons.slice(0, LIMITS.actionsElements) });

  const summaryText = inv.summary?.headline ?? inv.reason;
  const fallback = `${statusIcon(inv.status)} ${esc(inv.playbook)} on ${esc(target)} ${inv.status}${summaryText ? `: ${esc(truncateText(summaryText, 300))}` : ''}`;
  return message(responseType, fallback, blocks);
}

/** The result, posted for the whole channel to see. */
export function finalMessage(inv: Investigation, links: ResultLinks): SlackMessage {
  return resultMessage(inv, links, 'in_channel');
}

/** The answer to `status <id>`: the result when it has finished, where it is otherwise; only the asker sees it. */
export function statusMessage(inv: Investigation, links: ResultLinks): SlackMessage {
  return isTerminal(inv.status) ? resultMessage(inv, links, 'ephemeral') : progressMessage(inv);
}

/** Drops stack frames and anything after them: a chat message is no place for a trace, and it can leak paths. */
function withoutStack(text: string): string {
  const lines = text.split('\n');
  const frame = lines.findIndex((l) => /^\s*at\s/.test(l));
  return (frame === -1 ? lines : lines.slice(0, frame)).join('\n').trim();
}

export function errorMessage(text: string): SlackMessage {
  const clean = withoutStack(text) || 'Something went wrong.';
  const body = esc(truncateText(clean, LIMITS.sectionText - 20));
  return message('ephemeral', body, [section(`:warning: ${body}`)]);
}

/** Splits lines into sections that each fit, so a long list of playbooks never breaks the message. */
function sectionsFromLines(lines: string[]): SectionBlock[] {
  const out: SectionBlock[] = [];
  let current = '';
  for (const raw of lines) {
    const line = truncateText(raw, LIMITS.sectionText);
    if (current && current.length + 1 + line.length > LIMITS.sectionText) {
      out.push(section(current));
      current = '';
    }
    current = current ? `${current}\n${line}` : line;
  }
  if (current.trim()) out.push(section(current));
  return out;
}

export function helpMessage(topic?: string, playbooks?: readonly PlaybookInfo[]): SlackMessage {
  const text = helpText(topic, playbooks);
  const escaped = esc(text);
  return message('ephemeral', esc(text.split('\n')[0] ?? ''), sectionsFromLines(escaped.split('\n')));
}

function formatEvery(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return formatDurationMs(ms);
}

/** Slack shows `<!date^…>` in the reader's own time zone; the part after "|" is what other clients show. */
function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return esc(iso);
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${esc(iso)}>`;
}

export function sweepsMessage(schedules: readonly ScheduleInfo[]): SlackMessage {
  if (schedules.length === 0) {
    return message('ephemeral', 'No sweeps are scheduled.', [section('No sweeps are scheduled.')]);
  }
  const blocks: Block[] = [header('Scheduled sweeps')];
  for (const s of schedules.slice(0, MAX_SWEEPS)) {
    const when = s.every !== undefined ? `every ${formatEvery(s.every)}` : s.cron ? `cron \`${esc(s.cron)}\`` : 'no schedule';
    const lines = [`*${esc(s.name)}*: \`${esc(s.playbook)}\` on ${esc(formatTarget(s.target))}, ${when}`];
    if (s.nextRunAt) lines.push(`Next run: ${slackDate(s.nextRunAt)}`);
    else if (s.nextRunAt === null) lines.push('Next run: none planned');
    const last = s.lastInvestigation;
    if (last) {
      const headline = last.headline ? `: ${esc(truncateText(last.headline, 500))}` : '';
      lines.push(`Last: ${statusIcon(last.status)} \`${esc(last.id)}\` ${esc(last.status)}${headline}`);
    } else {
      lines.push('Last: never ran');
    }
    blocks.push(section(lines.join('\n')));
  }
  if (schedules.length > MAX_SWEEPS) blocks.push(context(`+${schedules.length - MAX_SWEEPS} more sweeps`));
  const names = schedules.map((s) => esc(s.name)).join(', ');
  return message('ephemeral', `${plural(schedules.length, 'scheduled sweep')}: ${names}`, blocks);
}

