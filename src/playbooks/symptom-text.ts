/**
 * A symptom as on-call people type it, read once for routing (route.ts): words in order with abbreviations spelled
 * out, the quantities it quotes ("300 ms", "95%", "p99"), where its clauses end, and which words are negated ("CPU
 * isn't saturated", "no errors", "not the disk", "memory is fine"). Pure: no playbook knowledge here.
 */

export interface Token {
  /** Lower case, abbreviations spelled out ("mem" → "memory"), a trailing "'s" dropped. */
  word: string;
  /** Clause number: negation never reaches past a comma, a full stop or a "but". */
  clause: number;
  /** Said under a negation: a match on it lowers a playbook's score instead of raising it. */
  negated: boolean;
  /** The raw characters just before this token since the previous one (", ", " (", " -"). */
  gap: string;
}

/** Units a quantity may carry, by what they measure; the keys a playbook's `routing.units` may weigh. */
export const UNITS = ['ns', 'us', 'ms', 's', 'min', '%', 'bytes', 'percentile'] as const;
export type Unit = (typeof UNITS)[number];

export interface Quantity {
  unit: Unit;
  /** As written, for the reason shown: "300 ms", "p99". */
  text: string;
  /** Index of its (first) token. */
  at: number;
}

export interface SymptomText {
  tokens: Token[];
  quantities: Quantity[];
  /** The words joined by single spaces (clause ends as " , "): what a playbook's legacy regular expressions see. */
  joined: string;
  /** joined offset → token index, for legacy regex matches. */
  tokenAt(offset: number): number;
}

/** Shorthand on-call people use, spelled out so vocabularies list only the long form. */
const ABBREVIATIONS: ReadonlyMap<string, string> = new Map([
  ['mem', 'memory'], ['conn', 'connection'], ['conns', 'connections'], ['perm', 'permission'], ['perms', 'permissions'],
  ['lat', 'latency'], ['db', 'database'], ['dbs', 'databases'], ['resp', 'response'], ['req', 'request'], ['reqs', 'requests'],
  ['cpus', 'cpu'], ['procs', 'processes'], ['proc', 'process'], ['k8s', 'kubernetes'], ['svc', 'service'],
  ['fs', 'filesystem'], ['vol', 'volume'], ['pv', 'volume'], ['pvc', 'volume'], ['w/o', 'without'], ['w', 'with'],
  ['isnt', "isn't"], ['arent', "aren't"], ['wasnt', "wasn't"], ['werent', "weren't"], ['doesnt', "doesn't"],
  ['dont', "don't"], ['didnt', "didn't"], ['cant', "can't"], ['wont', "won't"], ['hasnt', "hasn't"], ['havent', "haven't"],
  ['isn’t', "isn't"], ['n/a', 'na'],
]);

/** Words that end a clause, as punctuation does: what is negated before them is not negated after. */
const CLAUSE_WORDS = new Set(['but', 'though', 'although', 'however', 'yet', 'while', 'whereas', 'and', 'so', 'because', 'then', 'also', 'plus']);

/** Negate what follows, to the end of the clause: "no errors", "not the disk", "without retransmits". */
const FORWARD = new Set(['no', 'not', 'never', 'none', 'nothing', 'without', 'neither', 'nor', 'zero']);
/** A copula negated: the subject before it is denied too ("CPU isn't saturated", "the volume is not full"). */
const COPULA_NOT = new Set(["isn't", "aren't", "wasn't", "weren't", "ain't", "hasn't", "haven't"]);
const COPULA = new Set(['is', 'are', 'was', 'were', 'looks', 'look', 'seems', 'seem', 'stays', 'stay', 'remains', 'remain', 'looked', 'seemed', 'stayed', 'be', 'been', 'feels', 'appears']);
/** "doesn't look like DNS", "didn't see any OOM": denial by an auxiliary, but only before these verbs. */
const AUX_NOT = new Set(["doesn't", "don't", "didn't"]);
const AUX_DENYING_VERBS = new Set(['see', 'show', 'shows', 'look', 'seem', 'appear', 'find', 'have', 'get', 'mention', 'think', 'spot']);
/** "CPU is fine", "disk looks ok", "dmesg clean": the clause before these words is denied. */
const BACKWARD = new Set(['fine', 'ok', 'okay', 'normal', 'healthy', 'idle', 'good', 'unaffected', 'irrelevant', 'unremarkable', 'clean', 'flat', 'green', 'nominal']);
/**
 * After a negation word, these say that something failed rather than deny it: "no space left", "not found",
 * "not responding", and hedges ("not sure", "no idea") deny nothing.
 */
const NOT_A_DENIAL = new Set([
  'space', 'such', 'route', 'more', 'free', 'response', 'answer', 'reply', 'left', 'found', 'known', 'enough',
  'responding', 'respond', 'ready', 'reachable', 'available', 'permitted', 'allowed', 'resolving', 'resolve', 'connecting',
  'connect', 'starting', 'start', 'running', 'working', 'loading', 'accessible', 'writable', 'readable', 'exist', 'exists',
  'sure', 'certain', 'idea', 'clue', 'longer', 'able', 'reached', 'healthy', 'scheduled', 'mounted', 'matter',
]);
/** How far a negation reaches within its clause, in words: a safety net for clauses with no punctuation at all. */
const MAX_FORWARD = 6;
const MAX_BACKWARD = 4;

/** Words and numbers, with the characters that join them inside one word: "i/o", "eai_again", "node-17", "1.5s". */
const WORD = /[a-z0-9µ]+(?:['’./_-][a-z0-9µ]+)*|%/g;
/** Characters between words that end a clause. */
const CLAUSE_PUNCTUATION = /[,;:!?()[\]\n]|\.(?!\d)/;

const QUANTITY = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|sec|secs|seconds?|m|mins?|minutes?|%|k|kb|kib|ki|mb|mib|mi|g|gb|gib|gi|t|tb|tib|b|bytes?)$/;
const NUMBER = /^\d+(?:\.\d+)?$/;
const UNIT_WORD: ReadonlyMap<string, Unit> = new Map<string, Unit>([
  ['ns', 'ns'], ['us', 'us'], ['µs', 'us'], ['ms', 'ms'], ['millis', 'ms'], ['milliseconds', 'ms'], ['millisecond', 'ms'],
  ['s', 's'], ['sec', 's'], ['secs', 's'], ['second', 's'], ['seconds', 's'], ['m', 'min'], ['min', 'min'], ['mins', 'min'],
  ['minute', 'min'], ['minutes', 'min'], ['%', '%'], ['percent', '%'], ['k', 'bytes'], ['kb', 'bytes'], ['kib', 'bytes'],
  ['mb', 'bytes'], ['mib', 'bytes'], ['g', 'bytes'], ['gb', 'bytes'], ['gib', 'bytes'], ['gi', 'bytes'], ['mi', 'bytes'],
  ['t', 'bytes'], ['tb', 'bytes'], ['tib', 'bytes'], ['b', 'bytes'], ['byte', 'bytes'], ['bytes', 'bytes'],
]);
const PERCENTILE = /^(p\d{2,3}(\.\d+)?|\d{2}(\.\d+)?th)$/;

/** How readSymptom reads one word of a vocabulary phrase: a phrase must be written the way symptoms are read. */
export function asRead(word: string): string[] {
  return words(word).map((w) => w.word);
}

function words(text: string): Omit<Token, 'clause' | 'negated'>[] {
  const lower = text.toLowerCase().replace(/[’‘`]/g, "'");
  const out: Omit<Token, 'clause' | 'negated'>[] = [];
  let last = 0;
  for (const m of lower.matchAll(WORD)) {
    let w = m[0].replace(/'s$/, '');
    w = ABBREVIATIONS.get(w) ?? w;
    out.push({ word: w, gap: lower.slice(last, m.index) });
    last = m.index + m[0].length;
  }
  return out;
}

function quantities(tokens: readonly Token[]): Quantity[] {
  const out: Quantity[] = [];
  tokens.forEach((t, i) => {
    const q = QUANTITY.exec(t.word);
    const unitWord = q ? q[2]! : NUMBER.test(t.word) && tokens[i + 1] && !tokens[i + 1]!.gap.trim() ? tokens[i + 1]!.word : undefined;
    const unit = unitWord === undefined ? undefined : UNIT_WORD.get(unitWord);
    if (unit) out.push({ unit, text: q ? t.word : `${t.word}${tokens[i + 1]!.gap}${tokens[i + 1]!.word}`, at: i });
    else if (PERCENTILE.test(t.word)) out.push({ unit: 'percentile', text: t.word, at: i });
  });
  return out;
}

/** Marks the words each negation reaches; see the word lists above for which words deny what. */
function negate(tokens: Token[]): void {
  const mark = (from: number, to: number, clause: number) => {
    for (let j = Math.max(0, from); j <= to && j < tokens.length; j++) if (tokens[j]!.clause === clause) tokens[j]!.negated = true;
  };
  tokens.forEach((t, i) => {
    const next = tokens[i + 1];
    const sameClauseNext = next && next.clause === t.clause ? next : undefined;
    // "is not" reads as "isn't": a denied copula.
    const copulaNot = COPULA_NOT.has(t.word) || (t.word === 'not' && i > 0 && COPULA.has(tokens[i - 1]!.word) && tokens[i - 1]!.clause === t.clause);
    const denial =
      copulaNot ||
      FORWARD.has(t.word) ||
      (AUX_NOT.has(t.word) && sameClauseNext !== undefined && AUX_DENYING_VERBS.has(sameClauseNext.word));
    if (denial && !(sameClauseNext && NOT_A_DENIAL.has(sameClauseNext.word))) {
      mark(i + 1, i + MAX_FORWARD, t.clause);
      // The subject of a denied copula: back to the clause start.
      if (copulaNot) mark(i - MAX_BACKWARD, i - 1, t.clause);
    }
    // "higher than normal", "back to normal" compare with normal rather than call it normal.
    if (BACKWARD.has(t.word) && !['than', 'to', 'from', 'above', 'below', 'over', 'under', 'of', 'not'].includes(tokens[i - 1]?.word ?? '')) {
      // "CPU is fine", "CPU fine": the words before it in the clause, through a copula or none.
      let j = i - 1;
      while (j >= 0 && tokens[j]!.clause === t.clause && ['all', 'totally', 'perfectly', 'pretty', 'mostly', 'still', 'looking', 'quite', 'completely', 'is', 'are', 'was', 'were', 'looks', 'look', 'seems', 'seem', 'stays', 'remains'].includes(tokens[j]!.word)) j--;
      mark(j - MAX_BACKWARD + 1, j, t.clause);
    }
  });
}

/** Reads a symptom: words, clauses, negations and quantities. */
export function readSymptom(text: string): SymptomText {
  const raw = words(text);
  let clause = 0;
  const tokens: Token[] = raw.map((w, i) => {
    if (i > 0 && (CLAUSE_PUNCTUATION.test(w.gap) || CLAUSE_WORDS.has(w.word))) clause++;
    return { ...w, clause, negated: false };
  });
  negate(tokens);
  const starts: number[] = [];
  let joined = '';
  tokens.forEach((t, i) => {
    if (i > 0) joined += tokens[i - 1]!.clause === t.clause ? ' ' : ' , ';
    starts.push(joined.length);
    joined += t.word;
  });
  return {
    tokens,
    quantities: quantities(tokens),
    joined,
    tokenAt(offset) {
      let lo = 0;
      for (let i = 0; i < starts.length; i++) if (starts[i]! <= offset) lo = i;
      return lo;
    },
  };
}
