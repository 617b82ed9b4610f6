import { z } from 'zod';
import { errnoName, errnoNumber } from '../core/errno.ts';
import { exitCodeOfSignal, signalNumber } from './signals.ts';
import { asRead, UNITS, type SymptomText, type Unit } from './symptom-text.ts';

/**
 * A playbook's routing vocabulary (`routing:` in its YAML): what in a person's symptom text points to it, and how
 * strongly. route.ts scores every playbook with it; compileVocabulary checks it when the playbook loads.
 */

/** How much one term says for a playbook: 3 for a word that names its problem outright (ENOSPC, OOMKilled), 1 for a hint. */
const Weight = z.number().gt(0).max(5);

export const RoutingSpec = z
  .object({
    /**
     * Words and phrases with their synonyms, each group with one weight: `{ say: [oom, out of memory], weight: 3 }`.
     * Matched word by word in order, up to two words apart within a clause ("disk is almost full"); plurals and
     * -ed/-ing forms match, as do one-letter typos of words of five letters or more; a trailing `*` matches any ending.
     */
    phrases: z.array(z.object({ say: z.array(z.string().min(1).max(80)).min(1).max(32), weight: Weight }).strict()).max(64).default([]),
    /**
     * Phrases that point to this playbook when the text denies them: "CPU isn't saturated" beside a latency points to
     * a CPU quota (throttled tasks leave CPUs idle). Matched as `phrases` are, counted only where denied.
     */
    denied: z.array(z.object({ say: z.array(z.string().min(1).max(80)).min(1).max(32), weight: Weight }).strict()).max(16).default([]),
    /** Errno names, matched by name ("ENOSPC") and by number in context ("errno 28", "(24: Too many open files)"). */
    errnos: z.record(z.string(), Weight).default({}),
    /** Signal names, matched as "SIGKILL", "signal 9", "kill -9", and as the exit code 128+n ("exit code 137"). */
    signals: z.record(z.string(), Weight).default({}),
    /** Exit statuses that are not signals, matched after "exit", "code", "status" or "rc". */
    exitCodes: z.record(z.string(), Weight).default({}),
    /** Quantities quoted with a unit: "300 ms", "2s", "95%", "p99" (percentile). See UNITS for the keys. */
    units: z.record(z.string(), Weight).default({}),
  })
  .strict();
export type RoutingSpec = z.infer<typeof RoutingSpec>;

/** Where a term matched: the token indexes, as written, and whether the text denied it. */
export interface TermMatch {
  tokens: number[];
  text: string;
  negated: boolean;
}

export interface Term {
  weight: number;
  matches(s: SymptomText): TermMatch[];
}

export interface Vocabulary {
  terms: Term[];
}

/**
 * A regular expression of a playbook's older `symptoms:` list weighs this much: as much as the confidence threshold
 * asks of one term (route.ts), so a playbook that still routes by regexes is chosen when one of them matches, as before.
 */
export const LEGACY_SYMPTOM_WEIGHT = 2;

/** Endings a phrase word matches without a `*`: plurals, past and progressive forms, agent nouns. */
const INFLECTIONS = new Set(['s', 'es', 'ed', 'd', 'ing', 'er', 'ers', 'ly']);
/** Words too common to route by alone, and the negation words, which deny rather than describe. */
const TOO_COMMON = new Set(['the', 'a', 'an', 'is', 'are', 'on', 'in', 'of', 'to', 'for', 'with', 'and', 'or', 'it', 'this', 'that', 'no', 'not', 'never', 'without', 'fine', 'ok']);
/** Words a program writes before a number that is an exit status. */
const EXIT_CONTEXT = new Set(['exit', 'exited', 'exits', 'code', 'status', 'rc', 'exit_code', 'exitcode', 'returned', 'return', 'returns', 'with']);
/** Words before a number that is an errno. */
const ERRNO_CONTEXT = new Set(['errno', 'error', 'err', 'ret', 'rc', 'returned', 'returns', 'return']);

/** One edit (insert, delete, substitute) or one swap of neighbours apart: a typo. */
function oneTypoApart(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  if (a.length === b.length) {
    const diff = [...a].flatMap((c, i) => (c === b[i] ? [] : [i]));
    if (diff.length === 1) return true;
    return diff.length === 2 && diff[1] === diff[0]! + 1 && a[diff[0]!] === b[diff[1]!] && a[diff[1]!] === b[diff[0]!];
  }
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  let i = 0;
  while (i < short.length && short[i] === long[i]) i++;
  return short.slice(i) === long.slice(i + 1);
}

interface PhraseWord {
  word: string;
  prefix: boolean;
}

function wordMatches(p: PhraseWord, token: string): boolean {
  if (p.prefix) return token.startsWith(p.word);
  if (token === p.word) return true;
  if (token.startsWith(p.word) && INFLECTIONS.has(token.slice(p.word.length))) return true;
  // "resolve" → "resolving", "resolved"
  if (p.word.endsWith('e') && token.startsWith(p.word.slice(0, -1)) && ['ing', 'ed', 'es', 'er'].includes(token.slice(p.word.length - 1))) return true;
  return /^[a-z]{5,}$/.test(p.word) && /^[a-z]{5,}$/.test(token) && token[0] === p.word[0] && oneTypoApart(p.word, token);
}

/** Words of one phrase may stand this many words apart: "disk is almost full" is "disk full". */
const MAX_GAP = 2;

function phraseMatches(words: readonly PhraseWord[], s: SymptomText): TermMatch[] {
  const out: TermMatch[] = [];
  const t = s.tokens;
  for (let i = 0; i < t.length; i++) {
    if (!wordMatches(words[0]!, t[i]!.word)) continue;
    const at = [i];
    for (const w of words.slice(1)) {
      const from = at[at.length - 1]! + 1;
      let found = -1;
      for (let j = from; j <= from + MAX_GAP && j < t.length && t[j]!.clause === t[i]!.clause; j++) {
        if (wordMatches(w, t[j]!.word)) {
          found = j;
          break;
        }
      }
      if (found < 0) break;
      at.push(found);
    }
    if (at.length === words.length) out.push(match(s, at));
  }
  return out;
}

function match(s: SymptomText, at: number[], text?: string): TermMatch {
  const span = s.tokens.slice(at[0], at[at.length - 1]! + 1);
  return { tokens: at, text: text ?? span.map((x) => x.word).join(' '), negated: at.some((i) => s.tokens[i]!.negated) };
}

/** A number token preceded (within two words) by one of `context`, or right after "(" and before ":" (nginx's "(24: …)"). */
function numberInContext(s: SymptomText, n: number, context: ReadonlySet<string>, parenColon: boolean): number[] {
  const out: number[] = [];
  s.tokens.forEach((t, i) => {
    if (t.word !== String(n)) return;
    // Across clause ends too: "Exit Code: 137".
    const before = [s.tokens[i - 1], s.tokens[i - 2]].filter((x): x is NonNullable<typeof x> => x !== undefined);
    const next = s.tokens[i + 1];
    if (before.some((x) => context.has(x.word)) || (parenColon && t.gap.includes('(') && next?.gap.trimStart().startsWith(':'))) out.push(i);
  });
  return out;
}

function exitCodeTerm(code: number, weight: number): Term {
  return {
    weight,
    matches: (s) => numberInContext(s, code, EXIT_CONTEXT, false).map((i) => match(s, [i], `exit code ${code}`)),
  };
}

type Problems = { path: string; message: string }[];

function compilePhrase(text: string, at: string, problems: Problems): PhraseWord[] | null {
  const parts = text.toLowerCase().trim().split(/\s+/);
  const words: PhraseWord[] = [];
  for (const part of parts) {
    const prefix = part.endsWith('*');
    const word = prefix ? part.slice(0, -1) : part;
    const read = asRead(word);
    if (read.length !== 1 || read[0] !== word) {
      problems.push({
        path: at,
        message: `"${part}" is read as ${read.length ? read.map((r) => `"${r}"`).join(' ') : 'nothing'} in a symptom: write words as symptoms are read (lower case, abbreviations spelled out, no regular expressions; a trailing * matches any ending)`,
      });
      return null;
    }
    words.push({ word, prefix });
  }
  if (words.length === 1 && TOO_COMMON.has(words[0]!.word)) {
    problems.push({ path: at, message: `"${text}" is too common, or a negation, to route by on its own` });
    return null;
  }
  return words;
}

/** The YAML vocabulary and any legacy `symptoms:` regexes → terms; every problem is reported with its path. */
export function compileVocabulary(spec: RoutingSpec, legacy: readonly string[], problems: Problems): Vocabulary {
  const terms: Term[] = [];
  const seen = new Map<string, string>();
  spec.phrases.forEach((group, g) =>
    group.say.forEach((text, k) => {
      const at = `routing.phrases[${g}].say[${k}]`;
      const key = text.toLowerCase().trim().replace(/\s+/g, ' ');
      const other = seen.get(key);
      if (other) problems.push({ path: at, message: `"${text}" is already at ${other}` });
      seen.set(key, at);
      const words = compilePhrase(text, at, problems);
      if (words) terms.push({ weight: group.weight, matches: (s) => phraseMatches(words, s) });
    }),
  );
  spec.denied.forEach((group, g) =>
    group.say.forEach((text, k) => {
      const at = `routing.denied[${g}].say[${k}]`;
      const words = compilePhrase(text, at, problems);
      if (!words) return;
      // A denial said is evidence for: the match counts as said, in its own words ("cpu isn't saturated").
      terms.push({ weight: group.weight, matches: (s) => phraseMatches(words, s).filter((m) => m.negated).map((m) => ({ ...m, negated: false })) });
    }),
  );
  for (const [name, weight] of Object.entries(spec.errnos)) {
    const n = errnoNumber(name);
    if (n === undefined || name !== name.toUpperCase()) {
      problems.push({ path: `routing.errnos.${name}`, message: 'not an errno name such as ENOSPC (upper case, src/core/errno.ts)' });
      continue;
    }
    const words = [{ word: name.toLowerCase(), prefix: false }];
    const canonical = errnoName(n);
    terms.push({
      weight,
      matches: (s) => [
        ...phraseMatches(words, s).map((m) => ({ ...m, text: name })),
        ...numberInContext(s, n, ERRNO_CONTEXT, true).map((i) => match(s, [i], `errno ${n} (${canonical})`)),
      ],
    });
  }
  for (const [name, weight] of Object.entries(spec.signals)) {
    const n = signalNumber(name);
    if (n === undefined || !/^SIG[A-Z0-9]+$/.test(name)) {
      problems.push({ path: `routing.signals.${name}`, message: 'not a signal name such as SIGKILL' });
      continue;
    }
    const named = [{ word: name.toLowerCase(), prefix: false }];
    const exit = exitCodeTerm(exitCodeOfSignal(n), weight);
    terms.push({
      weight,
      matches: (s) => [
        ...phraseMatches(named, s).map((m) => ({ ...m, text: name })),
        // "signal 9", "kill -9"
        ...numberInContext(s, n, new Set(['signal', 'kill', 'sig']), false).map((i) => match(s, [i], `${name} (${n})`)),
        ...exit.matches(s),
      ],
    });
  }
  for (const [code, weight] of Object.entries(spec.exitCodes)) {
    const n = Number(code);
    if (!/^\d{1,3}$/.test(code) || n < 1 || n > 255) {
      problems.push({ path: `routing.exitCodes.${code}`, message: 'an exit status is a number from 1 to 255' });
      continue;
    }
    terms.push(exitCodeTerm(n, weight));
  }
  for (const [unit, weight] of Object.entries(spec.units)) {
    if (!(UNITS as readonly string[]).includes(unit)) {
      problems.push({ path: `routing.units.${unit}`, message: `not a unit; known: ${UNITS.join(', ')}` });
      continue;
    }
    terms.push({
      weight,
      matches: (s) => s.quantities.filter((q) => q.unit === (unit as Unit)).map((q) => match(s, [q.at], q.text)),
    });
  }
  legacy.forEach((source, i) => {
    let re: RegExp;
    try {
      re = new RegExp(source, 'gi');
    } catch (err) {
      problems.push({ path: `symptoms[${i}]`, message: (err as Error).message });
      return;
    }
    terms.push({
      weight: LEGACY_SYMPTOM_WEIGHT,
      matches: (s) =>
        [...s.joined.matchAll(re)].map((m) => {
          const first = s.tokenAt(m.index);
          const last = s.tokenAt(m.index + Math.max(0, m[0].length - 1));
          return match(s, Array.from({ length: last - first + 1 }, (_, k) => first + k), m[0]);
        }),
    });
  });
  return { terms };
}
