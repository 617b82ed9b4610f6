import { ProfileResult } from '../../bpf/bpftrace/profile/result.ts';
import { formatDurationMs } from '../core/duration.ts';
import { formatShare, plural } from '../core/format.ts';
import { routingText, type Routing } from '../core/routing.ts';
import { isTerminal, type Finding, type Investigation, type InvestigationStatus, type Severity, type Step } from '../core/investigation.ts';
import { costSummary, earlyEndLine, findingsInOrder, formatElapsedMs, formatTarget, headlineOf, isNotNeeded, notesOf, runDurationMs } from '../report/view.ts';
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
  /**
   * `text`: Slack shows it only in notifications when there are blocks (and cuts it at 40,000 characters), but
   * Mattermost shows nothing else, so it carries the findings too — within 4,000 characters, the most a post may
   * have on Mattermost servers before 5.0 (16,383 since).
   */
  fallbackText: 4000,
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

/** A flame graph of time on CPU (profile's samples) or of time blocked off CPU (offcputime). */
export type FlamegraphKind = 'on-cpu' | 'off-cpu';
const GRAPH_NAME: Record<FlamegraphKind, string> = { 'on-cpu': 'CPU flamegraph', 'off-cpu': 'Off-CPU flamegraph' };

export interface ResultLinks {
  report?: string;
  /**
   * Evidence artifact name ("mounts/node-17/result.json") → its URL, for the artifacts stored so far. Without the
   * map, evidence points to the report instead, and says so.
   */
  evidence?: ReadonlyMap<string, string>;
  /** The flame graph the message shows (its SVG behind a button, its PNG thumbnail as the image). */
  flamegraph?: string;
  flamegraphPng?: string;
  /** What the shown graph is: on-CPU samples when absent. */
  flamegraphKind?: FlamegraphKind;
  /** The investigation's other flame graph (a latency run draws one of each), behind a button of its own. */
  otherFlamegraph?: { kind: FlamegraphKind; url: string };
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
/** Per finding: commands of its next step and evidence links shown; the report has them all. */
const MAX_COMMANDS = 4;
const MAX_COMMAND_CHARS = 160;
const MAX_REMEDY_CHARS = 500;
const MAX_EVIDENCE = 3;
const MAX_EVIDENCE_LABEL = 100;
/**
 * A longer evidence URL is shown as its name instead: with the limits above, a finding's title, next step and
 * evidence then never take more than about 2,750 of a section's 3,000 characters, and the detail keeps the rest.
 */
const MAX_EVIDENCE_URL = 300;
const MAX_NOTES = 10;
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

/** Slack user ids become mentions, which render as the person's name; anything else is shown as it is. */
function requester(requestedBy: string): string {
  const m = /^slack:([UW][A-Z0-9]{2,})$/.exec(requestedBy);
  return m ? `<@${m[1]}>` : esc(requestedBy);
}

function elapsed(inv: Investigation): string | undefined {
  const ms = runDurationMs(inv);
  return ms === null ? undefined : formatElapsedMs(ms);
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
export function ackMessage(inv: { id: string; playbook: string; target?: object; routing?: Routing }, extra?: string): SlackMessage {
  const target = formatTarget(inv.target);
  const blocks: Block[] = [section(`${STATUS_ICON.queued} Queued \`${esc(inv.id)}\`: *${esc(inv.playbook)}* on ${esc(target)}`)];
  // Why this playbook, from the words of the symptom: the asker can tell at once whether it understood them.
  const routed = inv.routing ? esc(truncateText(routingText(inv.routing), 500)) : undefined;
  if (routed) blocks.push(context(routed));
  if (extra) blocks.push(context(esc(extra)));
  const fallback = [`Queued ${esc(inv.id)}: ${esc(inv.playbook)} on ${esc(target)}`, routed, extra ? esc(extra) : undefined].filter(Boolean).join('. ');
  return message('ephemeral', fallback, blocks);
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

/** What a chat message shows of a profile: read with the profile's own schema, only the fields it shows required. */
const ProfileSummary = ProfileResult.pick({ samples: true, topFunctions: true });

/** A code block cannot contain its own fence; function names with backquotes (rare, but seen in JIT names) lose them. */
const codeSafe = (s: string) => esc(s.replace(/`/g, "'"));
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * "*Evidence:* <url|mounts/node-17/result.json>, `mount-calls/node-17/result.json`": each name links to its artifact
 * when a URL was made for it (stored ones), else it is shown as code (still in an agent's spool). Without any
 * artifact URLs, the names point at the report, which links them all.
 */
function evidenceLine(names: readonly string[], links: ResultLinks): string | undefined {
  if (names.length === 0) return undefined;
  const code = (n: string) => `\`${truncateText(codeSafe(n), MAX_EVIDENCE_LABEL)}\``;
  const more = names.length > MAX_EVIDENCE ? ` +${names.length - MAX_EVIDENCE} more in the report` : '';
  const shown = names.slice(0, MAX_EVIDENCE);
  const report = usableUrl(links.report);
  if (links.evidence === undefined && report !== undefined && report.length <= MAX_EVIDENCE_URL) {
    return `*Evidence* (linked from the ${mrkdwnLink(report, 'report')}): ${shown.map(code).join(', ')}${more}`;
  }
  const linked = shown.map((n) => {
    const url = usableUrl(links.evidence?.get(n));
    return url !== undefined && url.length <= MAX_EVIDENCE_URL ? mrkdwnLink(url, truncateText(esc(n), MAX_EVIDENCE_LABEL)) : code(n);
  });
  return `*Evidence:* ${linked.join(', ')}${more}`;
}

/** The artifacts a finding's evidence names, once each: chat links files; the report shows the rows. */
const evidenceNames = (f: Finding) => [...new Set(f.evidence.map((e) => e.artifact))];

/** What to do next: the commands as a code block, then the usual fix. */
function nextStepText(f: Finding): string[] {
  if (!f.next) return [];
  const { commands, remedy } = f.next;
  const lines = commands.slice(0, MAX_COMMANDS).map((c) => truncateText(codeSafe(c), MAX_COMMAND_CHARS));
  if (commands.length > MAX_COMMANDS) lines.push(`# +${commands.length - MAX_COMMANDS} more in the report`);
  return [...(lines.length ? [`*Next:*\n\`\`\`\n${lines.join('\n')}\n\`\`\``] : []), `*Fix:* ${truncateText(esc(oneLine(remedy)), MAX_REMEDY_CHARS)}`];
}

/** Severity, title, detail, next step and evidence; the detail is cut to what the rest leaves of the section. */
function findingText(f: Finding, links: ResultLinks): string {
  const title = `${SEVERITY_ICON[f.severity]} _${f.severity} · ${f.confidence.level} confidence_ *${truncateText(esc(oneLine(f.title)), 300)}*`;
  const evidence = evidenceLine(evidenceNames(f), links);
  const tail = [...nextStepText(f), ...(evidence ? [evidence] : [])];
  const room = LIMITS.sectionText - title.length - tail.reduce((n, t) => n + 1 + t.length, 0) - 1;
  const detail = room > 0 ? truncateText(esc(f.detail), room) : '';
  return [title, ...(detail ? [detail] : []), ...tail].join('\n');
}

function findingBlocks(inv: Investigation, links: ResultLinks): Block[] {
  const findings = findingsInOrder(inv);
  if (findings.length === 0) return [];
  const blocks: Block[] = findings.slice(0, MAX_FINDINGS).map((f) => section(findingText(f, links)));
  if (findings.length > MAX_FINDINGS) {
    blocks.push(context(`+${findings.length - MAX_FINDINGS} more findings in the report`));
  }
  return blocks;
}

/** What could not be looked at: a reader must not take silence for a clean bill. */
function noteBlocks(inv: Investigation): Block[] {
  const notes = notesOf(inv);
  if (notes.length === 0) return [];
  const lines = notes.map((n) => `• ${truncateText(esc(oneLine(n)), 300)}`);
  return [section(`*Not looked at:*\n${listWithMore(lines, MAX_NOTES, 'notes')}`)];
}

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

/** Steps that failed, were cancelled or could not run; never a branch the playbook did not need to take. */
function unfinishedSteps(inv: Investigation): Block[] {
  const bad = inv.steps.filter((s) => s.status === 'failed' || s.status === 'cancelled' || (s.status === 'skipped' && s.reason && !isNotNeeded(s)));
  if (bad.length === 0) return [];
  const lines = bad.map((s) => `• ${stepName(s)}: ${s.status}${s.reason ? `: ${esc(truncateText(s.reason.replace(/\s+/g, ' '), 300))}` : ''}`);
  return [section(`Steps that did not succeed:\n${listWithMore(lines, MAX_LISTED_STEPS, 'steps')}`)];
}

/** The headline every rendering shows, in bold, and why a run ended early. */
function headlineText(inv: Investigation): string {
  if (!inv.summary) return esc(truncateText(headlineOf(inv), 1000));
  const early = earlyEndLine(inv);
  return `*${esc(truncateText(oneLine(inv.summary.headline), 1000))}*${early ? `\n${esc(truncateText(early, 1000))}` : ''}`;
}

/**
 * The fallback `text`: the first line for notifications, then — for Mattermost, which shows only this — the
 * findings with their next step and evidence, the notes and the report link. Lines are left out whole, never cut
 * inside a link, once the text would pass its limit.
 */
function fallbackText(inv: Investigation, links: ResultLinks, target: string): string {
  const summaryText = inv.summary?.headline ?? inv.reason;
  const first = `${statusIcon(inv.status)} ${esc(inv.playbook)} on ${esc(target)} ${inv.status}${summaryText ? `: ${esc(truncateText(summaryText, 300))}` : ''}`;
  const lines: string[] = [];
  const findings = findingsInOrder(inv);
  for (const f of findings.slice(0, MAX_FINDINGS)) {
    lines.push(`${SEVERITY_ICON[f.severity]} *${truncateText(esc(oneLine(f.title)), 300)}*: ${truncateText(esc(oneLine(f.detail)), 300)}`);
    if (f.next?.commands.length) lines.push(`Next: ${f.next.commands.slice(0, MAX_COMMANDS).map((c) => `\`${truncateText(codeSafe(c), MAX_COMMAND_CHARS)}\``).join(' ; ')}`);
    if (f.next) lines.push(`Fix: ${truncateText(esc(oneLine(f.next.remedy)), MAX_REMEDY_CHARS)}`);
    const evidence = evidenceLine(evidenceNames(f), links);
    if (evidence) lines.push(evidence.replace(/^\*Evidence(:?)\*/, 'Evidence$1'));
  }
  if (findings.length > MAX_FINDINGS) lines.push(`+${findings.length - MAX_FINDINGS} more findings in the report`);
  const notes = notesOf(inv);
  if (notes.length) lines.push(`Not looked at: ${notes.slice(0, MAX_NOTES).map((n) => truncateText(esc(oneLine(n)), 300)).join('; ')}`);
  if (usableUrl(links.report)) lines.push(mrkdwnLink(links.report, 'Open the report'));
  return linesWithin(first, lines, LIMITS.fallbackText);
}

/** `first` (cut to fit if it must) and as many of `rest` as fit whole; "…" when any were left out. */
function linesWithin(first: string, rest: string[], max: number): string {
  let text = truncateText(first, max);
  for (const [i, line] of rest.entries()) {
    const last = i === rest.length - 1;
    if (text.length + 1 + line.length + (last ? 0 : 2) > max) return text.endsWith('…') ? text : `${text}\n…`;
    text = `${text}\n${line}`;
  }
  return text;
}

function resultMessage(inv: Investigation, links: ResultLinks, responseType: SlackMessage['response_type']): SlackMessage {
  const target = formatTarget(inv.target);
  const blocks: Block[] = [
    header(`${statusIcon(inv.status)} ${inv.playbook} ${inv.status} on ${target}`),
    section(headlineText(inv)),
    ...findingBlocks(inv, links),
    ...profileBlocks(inv),
  ];
  // A run that did not succeed lists its unfinished steps one by one; the notes say the same of those steps in words.
  const unfinished = inv.status === 'succeeded' ? [] : unfinishedSteps(inv);
  blocks.push(...(unfinished.length ? unfinished : noteBlocks(inv)));

  const meta = [
    // Code spans show links as plain text, so the id is either a link or code, not both.
    usableUrl(links.self) ? mrkdwnLink(links.self, esc(inv.id)) : `\`${esc(inv.id)}\``,
    esc(target),
    `requested by ${requester(inv.requestedBy)}`,
  ];
  const took = elapsed(inv);
  if (took) meta.push(`took ${took}`);
  const cost = costSummary(inv);
  if (cost) meta.push(esc(cost));
  const ctx = [meta.join(' · ')];
  if (inv.symptom) ctx.push(`Symptom: ${esc(truncateText(inv.symptom.replace(/\s+/g, ' '), 500))}`);
  blocks.push(context(...ctx));

  const kind = links.flamegraphKind ?? 'on-cpu';
  const other = links.otherFlamegraph;
  const png = usableUrl(links.flamegraphPng);
  if (png) {
    blocks.push({
      type: 'image',
      image_url: png,
      alt_text: truncateText(`${GRAPH_NAME[kind]} of ${target} (${inv.playbook}, ${inv.id})`, LIMITS.altText),
      title: { type: 'plain_text', text: kind === 'off-cpu' ? GRAPH_NAME[kind] : 'Flamegraph', emoji: false },
    });
  }
  // One graph is "Flamegraph" as it always was; beside another, each says which it is, the shown one first.
  const graphLabel = (k: FlamegraphKind) => (other || k === 'off-cpu' ? GRAPH_NAME[k] : 'Flamegraph');
  const buttons = [
    button('Open report', links.report, 'open_report', 'primary'),
    button(graphLabel(kind), links.flamegraph, 'open_flamegraph'),
    ...(other ? [button(graphLabel(other.kind), other.url, 'open_other_flamegraph')] : []),
  ].filter((b): b is LinkButton => b !== undefined);
  if (buttons.length) blocks.push({ type: 'actions', elements: buttons.slice(0, LIMITS.actionsElements) });

  return message(responseType, fallbackText(inv, links, target), blocks);
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

