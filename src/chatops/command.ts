import { z } from 'zod';
import { InvestigationId } from '../core/ids.ts';
import { COMMAND, DEFAULT_ALIASES, USAGE } from './help.ts';
import { unescapeSlackText } from './mrkdwn.ts';

/** Longest command text accepted, counted after Slack's escaping is undone; InvestigationRequest caps a symptom here too. */
export const MAX_COMMAND_LENGTH = 2000;

const TargetValue = z.union([z.string(), z.number()]);
const ParamValue = z.union([z.string(), z.number(), z.boolean()]);

/**
 * What the text after `/investigate` asks for. `target` and `params` are only sorted out, not checked: the caller
 * runs them through the Target schema and the playbook's parameter schema, which give the precise messages.
 */
export const ChatCommand = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('help'), topic: z.string().optional() }).strict(),
  z.object({ kind: z.literal('status'), id: InvestigationId }).strict(),
  z.object({ kind: z.literal('cancel'), id: InvestigationId }).strict(),
  z.object({ kind: z.literal('sweeps') }).strict(),
  z
    .object({
      kind: z.literal('investigate'),
      playbook: z.string().optional(),
      symptom: z.string().optional(),
      target: z.record(z.string(), TargetValue),
      params: z.record(z.string(), ParamValue),
    })
    .strict(),
  z.object({ kind: z.literal('invalid'), message: z.string() }).strict(),
]);
export type ChatCommand = z.infer<typeof ChatCommand>;

export interface KnownNames {
  playbooks: readonly string[];
  /** Extra short names for playbooks, added to (and overriding) DEFAULT_ALIASES. */
  aliases?: Record<string, string>;
}

type Token = { kind: 'word'; text: string } | { kind: 'pair'; key: string; value: string };

/** Straight quotes, and the curly ones that Slack's and macOS's "smart punctuation" turn them into. */
const QUOTES = new Set(['"', '\u201c', '\u201d']);
const KEY = /^[a-zA-Z][a-zA-Z0-9_]*$/;
/** Longer digit runs would lose precision as numbers; leaving them strings lets the schemas reject them by name. */
const INTEGER = /^\d{1,15}$/;

/** Where each key a person may type ends up (matched case-insensitively: phones capitalize the first letter). */
const TARGET_KEYS: Readonly<Record<string, string>> = {
  pod: 'pod',
  node: 'node',
  namespace: 'namespace',
  ns: 'namespace',
  selector: 'labelSelector',
  labelselector: 'labelSelector',
  cgroup: 'cgroup',
  pid: 'pid',
};
const PARAM_KEYS: Readonly<Record<string, string>> = { for: 'duration', duration: 'duration' };

const invalid = (problem: string): ChatCommand => ({ kind: 'invalid', message: `${problem}\n${USAGE}` });

/** Splits on white space, except inside double quotes; `key=value` tokens are recognised by the first bare "=". */
function tokenize(text: string): Token[] | { error: string } {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
    if (i >= text.length) break;
    const start = i;
    let buf = '';
    let key: string | undefined;
    let quoted = false;
    let inQuote = false;
    for (; i < text.length; i++) {
      const c = text[i] ?? '';
      if (inQuote) {
        if (QUOTES.has(c)) inQuote = false;
        else buf += c;
      } else if (/\s/.test(c)) {
        break;
      } else if (QUOTES.has(c)) {
        inQuote = true;
        quoted = true;
      } else if (c === '=' && key === undefined && !quoted) {
        key = buf;
        buf = '';
      } else {
        buf += c;
      }
    }
    if (inQuote) return { error: `The quote in \`${text.slice(start, start + 40)}\` is never closed.` };
    if (key !== undefined) tokens.push({ kind: 'pair', key, value: buf });
    else if (buf !== '') tokens.push({ kind: 'word', text: buf });
  }
  return tokens;
}

const paramValue = (v: string): string | number | boolean => {
  if (INTEGER.test(v)) return Number(v);
  if (v === 'true') return true;
  if (v === 'false') return false;
  return v;
};

function sortPairs(pairs: { key: string; value: string }[]): { target: Record<string, string | number>; params: Record<string, string | number | boolean> } | { error: string } {
  const target: Record<string, string | number> = {};
  const params: Record<string, string | number | boolean> = {};
  const seen = new Map<string, string>();
  for (const { key, value } of pairs) {
    if (!KEY.test(key)) {
      return { error: `\`${key || '='}\` is not a key: keys start with a letter and hold only letters, digits and "_".` };
    }
    if (value === '') return { error: `\`${key}=\` has no value.` };
    const lower = key.toLowerCase();
    const targetKey = Object.hasOwn(TARGET_KEYS, lower) ? TARGET_KEYS[lower] : undefined;
    const paramKey = Object.hasOwn(PARAM_KEYS, lower) ? PARAM_KEYS[lower] : undefined;
    const slot = targetKey ? `target.${targetKey}` : `params.${paramKey ?? key}`;
    const earlier = seen.get(slot);
    if (earlier !== undefined) {
      return { error: earlier === key ? `\`${key}\` is given twice.` : `\`${earlier}\` and \`${key}\` say the same thing; give one.` };
    }
    seen.set(slot, key);
    if (targetKey) target[targetKey] = targetKey === 'pid' && INTEGER.test(value) ? Number(value) : value;
    else params[paramKey ?? key] = paramValue(value);
  }
  return { target, params };
}

function idCommand(kind: 'status' | 'cancel', args: Token[]): ChatCommand {
  const example = `\`${COMMAND} ${kind} inv_…\``;
  if (args.length === 0) return invalid(`\`${kind}\` needs an investigation id: ${example}.`);
  if (args.length > 1) return invalid(`\`${kind}\` takes one investigation id and nothing else: ${example}.`);
  const arg = args[0];
  const id = arg?.kind === 'word' ? arg.text : `${arg?.key ?? ''}=${arg?.value ?? ''}`;
  if (!InvestigationId.safeParse(id).success) {
    return invalid(`\`${id.slice(0, 60)}\` is not an investigation id: ids look like \`inv_\` and 26 lowercase letters and digits.`);
  }
  return { kind, id };
}

/** Never throws: anything it cannot make sense of becomes `{ kind: 'invalid' }` with a message for the person. */
export function parseChatCommand(text: string, known: KnownNames): ChatCommand {
  const plain = unescapeSlackText(text).trim();
  if (plain.length > MAX_COMMAND_LENGTH) {
    return invalid(`That is ${plain.length} characters; the limit is ${MAX_COMMAND_LENGTH}.`);
  }
  const tokens = tokenize(plain);
  if ('error' in tokens) return invalid(tokens.error);
  if (tokens.length === 0) return { kind: 'help' };

  // The first word decides, wherever it stands: people put the target first as often as last.
  const at = tokens.findIndex((t) => t.kind === 'word');
  const first = tokens[at];
  const verb = first?.kind === 'word' ? first.text.toLowerCase() : undefined;
  const rest = tokens.filter((_t, i) => i !== at);
  if (verb === 'help' || verb === '?' || verb === '-h' || verb === '--help') {
    const topic = rest.flatMap((t) => (t.kind === 'word' ? [t.text] : [])).join(' ');
    return topic ? { kind: 'help', topic } : { kind: 'help' };
  }
  if (verb === 'status' || verb === 'cancel') return idCommand(verb, rest);
  if (verb === 'sweeps') {
    return rest.length === 0 ? { kind: 'sweeps' } : invalid('`sweeps` takes nothing after it.');
  }

  const aliases: Record<string, string> = { ...DEFAULT_ALIASES, ...known.aliases };
  let playbook: string | undefined;
  if (verb !== undefined) {
    if (known.playbooks.includes(verb)) playbook = verb;
    else if (Object.hasOwn(aliases, verb)) playbook = aliases[verb];
  }
  const words = (playbook === undefined ? tokens : rest).flatMap((t) => (t.kind === 'word' ? [t.text] : []));
  const pairs = tokens.flatMap((t) => (t.kind === 'pair' ? [t] : []));
  const sorted = sortPairs(pairs);
  if ('error' in sorted) return invalid(sorted.error);

  const symptom = words.length > 0 ? words.join(' ') : undefined;
  if (playbook === undefined && symptom === undefined) {
    const names = known.playbooks.length ? ` Playbooks: ${known.playbooks.map((p) => `\`${p}\``).join(', ')}.` : '';
    return invalid(`Say which playbook to run or what is wrong, e.g. \`${COMMAND} enospc pod=shop/cart-7d9f\`.${names}`);
  }
  return {
    kind: 'investigate',
    ...(playbook !== undefined ? { playbook } : {}),
    ...(symptom !== undefined ? { symptom } : {}),
    target: sorted.target,
    params: sorted.params,
  };
}
