import { z } from 'zod';
import { ValidationError } from '../core/errors.ts';

/**
 * Kubernetes label syntax: keys, values, and selectors with the grammar of k8s.io/apimachinery labels.Parse. Pure: the
 * Kubernetes inventory checks a selector here before sending it to the API server, the static inventory checks its
 * labels with the same rules (so a static host can later become a node without relabelling).
 */

// RFC 1123 subdomain (dot-separated labels), as IsDNS1123Subdomain; a key's prefix is one of at most 253 characters.
const DNS_SUBDOMAIN = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
// A label name, and a non-empty label value: at most 63 characters, alphanumeric at both ends.
const LABEL_NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';

/** `[prefix/]name`; the lookahead bounds the prefix before the subdomain pattern runs. */
export const LABEL_KEY = new RegExp(`^((?=[^/]{1,253}/)${DNS_SUBDOMAIN}/)?${LABEL_NAME}$`);
/** A label value; empty is a value too. */
export const LABEL_VALUE = new RegExp(`^(${LABEL_NAME})?$`);

export const LabelKey = z.string().regex(LABEL_KEY, 'expected a label key such as "zone" or "example.com/rack"');
export const LabelValue = z
  .string()
  .regex(LABEL_VALUE, 'expected a label value (at most 63 characters: alphanumerics, "-", "_", ".")');

export type SelectorOperator = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values: string[];
}

const INTEGER = /^-?[0-9]+$/;

/**
 * Parses a label selector with the grammar of k8s.io/apimachinery labels.Parse: comma-separated requirements
 * `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (v1,v2)`, `k notin (v1,v2)`, `k>n`, `k<n`; keys are qualified names
 * (`prefix/name`), values label values. Throws ValidationError (path target.labelSelector) saying what is wrong where.
 */
export function parseLabelSelector(selector: string): SelectorRequirement[] {
  return new SelectorParser(selector).parse();
}

/** Whether labels satisfy every requirement; `!=` and `notin` also match pods without the key, as in Kubernetes. */
export function matchesLabelSelector(requirements: SelectorRequirement[], labels: Record<string, string>): boolean {
  return requirements.every(({ key, operator, values }) => {
    const value = Object.hasOwn(labels, key) ? labels[key] : undefined;
    switch (operator) {
      case 'exists':
        return value !== undefined;
      case '!exists':
        return value === undefined;
      case '=':
      case 'in':
        return value !== undefined && values.includes(value);
      case '!=':
      case 'notin':
        return value === undefined || !values.includes(value);
      case 'gt':
      case 'lt': {
        if (value === undefined || !INTEGER.test(value)) return false;
        const [bound = '0'] = values;
        return operator === 'gt' ? Number(value) > Number(bound) : Number(value) < Number(bound);
      }
    }
  });
}

type Token = { kind: 'word' | 'op'; text: string; at: number };

class SelectorParser {
  private readonly tokens: Token[];
  private pos = 0;

  constructor(private readonly source: string) {
    this.tokens = tokenize(source);
  }

  parse(): SelectorRequirement[] {
    const requirements: SelectorRequirement[] = [];
    if (this.tokens.length === 0) return requirements;
    for (;;) {
      requirements.push(this.requirement());
      const next = this.take();
      if (next === undefined) return requirements;
      if (next.text !== ',') this.fail(next, `expected "," between requirements, found "${next.text}"`);
    }
  }

  private requirement(): SelectorRequirement {
    const first = this.take();
    if (first === undefined) this.fail(undefined, 'expected a requirement after ","');
    if (first.text === '!') return { key: this.key(this.take()), operator: '!exists', values: [] };
    const key = this.key(first);
    const op = this.peek();
    if (op === undefined || op.text === ',') return { key, operator: 'exists', values: [] };
    this.pos++;
    switch (op.text) {
      case '=':
      case '==':
        return { key, operator: '=', values: [this.value(this.take(), true)] };
      case '!=':
        return { key, operator: '!=', values: [this.value(this.take(), true)] };
      case '>':
      case '<':
        return { key, operator: op.text === '>' ? 'gt' : 'lt', values: [this.integer(this.take())] };
      case 'in':
        if (op.kind === 'word') return { key, operator: 'in', values: this.valueSet() };
        break;
      case 'notin':
        if (op.kind === 'word') return { key, operator: 'notin', values: this.valueSet() };
        break;
    }
    this.fail(op, `expected =, ==, !=, in, notin, > or < after "${key}", found "${op.text}"`);
  }

  private valueSet(): string[] {
    const open = this.take();
    if (open?.text !== '(') this.fail(open, 'expected "(" to open the value set');
    const values: string[] = [];
    for (;;) {
      const token = this.take();
      if (token === undefined) this.fail(undefined, 'value set is not closed with ")"');
      // Like the API server: "k in ()" and "k in (a,)" hold the empty value.
      if (token.text === ',' || token.text === ')') {
        values.push('');
        if (token.text === ')') return values;
        continue;
      }
      values.push(this.value(token, false));
      const sep = this.take();
      if (sep === undefined) this.fail(undefined, 'value set is not closed with ")"');
      if (sep.text === ')') return values;
      if (sep.text !== ',') this.fail(sep, 'expected "," or ")" in the value set');
    }
  }

  private key(token: Token | undefined): string {
    if (token?.kind !== 'word') this.fail(token, 'expected a label key');
    if (!LABEL_KEY.test(token.text)) {
      this.fail(token, `"${token.text}" is not a valid label key ([prefix/]name, name at most 63 characters)`);
    }
    return token.text;
  }

  // An exact-match value may be empty ("k=" selects the empty value), which shows as no word before "," or the end.
  private value(token: Token | undefined, mayBeMissing: boolean): string {
    if (mayBeMissing && (token === undefined || token.text === ',')) {
      if (token !== undefined) this.pos--;
      return '';
    }
    if (token?.kind !== 'word') this.fail(token, 'expected a label value');
    if (!LABEL_VALUE.test(token.text)) {
      this.fail(token, `"${token.text}" is not a valid label value (at most 63 characters: alphanumerics, "-", "_", ".")`);
    }
    return token.text;
  }

  private integer(token: Token | undefined): string {
    if (token?.kind !== 'word' || !INTEGER.test(token.text)) this.fail(token, 'expected an integer after > or <');
    return token.text;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private take(): Token | undefined {
    const token = this.tokens[this.pos];
    if (token !== undefined) this.pos++;
    return token;
  }

  private fail(token: Token | undefined, message: string): never {
    const where = token === undefined ? 'at the end' : `at character ${token.at + 1}`;
    const text = `${message} (${where} of "${this.source}")`;
    throw new ValidationError(`invalid labelSelector: ${text}`, [{ path: 'target.labelSelector', message: text }]);
  }
}

const OPERATOR_CHARS = new Set(['!', '=', ',', '(', ')', '<', '>']);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
    } else if (OPERATOR_CHARS.has(ch)) {
      const two = source.slice(i, i + 2);
      const text = two === '!=' || two === '==' ? two : ch;
      tokens.push({ kind: 'op', text, at: i });
      i += text.length;
    } else {
      const start = i;
      while (i < source.length && !/\s/.test(source[i] ?? '') && !OPERATOR_CHARS.has(source[i] ?? '')) i++;
      tokens.push({ kind: 'word', text: source.slice(start, i), at: start });
    }
  }
  return tokens;
}
