import { Environment } from '@marcbachmann/cel-js';
import { formatDurationMs } from '../core/duration.ts';
import { formatBytes, formatCount, shellWord } from '../core/format.ts';

/**
 * Playbook conditions and templates are CEL (the expression language Kubernetes uses): side-effect free, bounded,
 * never `eval`. Variables: `params`, `steps` (by step id), `target`, `item` (forEach), `result` (a step's `expect`).
 */
const env = new Environment({ unlistedVariablesAreDyn: false, enableOptionalTypes: true, homogeneousAggregateLiterals: false })
  .registerVariable('params', 'map')
  .registerVariable('steps', 'map')
  .registerVariable('target', 'map')
  .registerVariable('item', 'dyn')
  // A step's own result, in its `expect` (the other expressions see results through `steps`).
  .registerVariable('result', 'dyn')
  .registerFunction('sum(list): dyn', (xs: unknown[]) => xs.reduce<bigint | number>((a, x) => add(a, x as bigint | number), 0n))
  .registerFunction('maxOf(list): dyn', (xs: unknown[]) => (xs.length ? xs.reduce((a, x) => ((x as number) > (a as number) ? x : a)) : 0n))
  .registerFunction('take(list, int): list', (xs: unknown[], n: bigint) => xs.slice(0, Number(n)))
  .registerFunction('distinct(list): list', (xs: unknown[]) => [...new Set(xs)])
  .registerFunction('join(list, string): string', (xs: unknown[], sep: string) => xs.map(display).join(sep))
  .registerFunction('duration_text(int): string', (ms: bigint) => formatDurationMs(Number(ms)))
  // Counts inside concatenations read as they do in {{ }}: "65,536", where string() gives "65536".
  .registerFunction('count_text(dyn): string', (x: unknown) => display(x))
  .registerFunction('size_text(dyn): string', (x: unknown) => formatBytes(Number(x)))
  // Commands suggested in findings quote what came from a capture (a mount point may hold spaces or quotes).
  .registerFunction('shell(string): string', (s: string) => shellWord(s))
  .registerFunction('percent(dyn): string', (x: unknown) => `${(Number(x) * 100).toFixed(Number(x) >= 0.1 ? 0 : 1)}%`);

function add(a: bigint | number, b: bigint | number): bigint | number {
  return typeof a === 'bigint' && typeof b === 'bigint' ? a + b : Number(a) + Number(b);
}

export class ExpressionError extends Error {}

export interface Expression {
  source: string;
  evaluate(ctx: ExpressionContext): unknown;
}

export interface ExpressionContext {
  params: Record<string, unknown>;
  steps: Record<string, unknown>;
  target: Record<string, unknown>;
  /** The current element of a finding rule's forEach. */
  item?: unknown;
  /** The result a step's `expect` judges; one node's result, in a finding's evidence `where`. */
  result?: unknown;
}

/** CEL ints are 64-bit and distinct from doubles: whole JS numbers enter as bigint, so `count * 2` type-checks. */
export function toCel(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toCel);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  return v;
}

/** Back to JSON-safe values: bigints that fit become numbers. */
export function fromCel(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(fromCel);
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), fromCel(x)]));
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromCel(x)]));
  }
  return v;
}

/**
 * When an expression is parsed and type-checked. 'now' for any playbook being loaded: a problem surfaces at load,
 * with the playbook's file and path. 'on-first-use' only for a document the build compiled without a problem
 * (prebuild.ts): the same text, tools and CEL declarations cannot fail now, and a process that just started (an API,
 * a Lambda cold start) does not spend ~60 ms parsing expressions only the orchestrator evaluates.
 */
export type ParseMode = 'now' | 'on-first-use';

/** Parses once (syntax errors surface at load, with the playbook's file and path); evaluates many times. */
export function compileExpression(source: string, { expect, parse = 'now' }: { expect?: 'bool'; parse?: ParseMode } = {}): Expression {
  if (parse === 'on-first-use') {
    let compiled: Expression | undefined;
    return { source, evaluate: (ctx) => (compiled ??= checkedExpression(source, expect)).evaluate(ctx) };
  }
  return checkedExpression(source, expect);
}

function checkedExpression(source: string, expect?: 'bool'): Expression {
  let parsed: ReturnType<typeof env.parse>;
  try {
    parsed = env.parse(source);
  } catch (err) {
    throw new ExpressionError(firstLine(err));
  }
  // Type-checks against the declared variables: an unknown name or an impossible operation fails at load. The
  // parsed tree is checked (env.check(source) would parse it again), and once checked it evaluates without checking.
  const checked = parsed.check();
  if (!checked.valid) throw new ExpressionError(firstLine(checked.error));
  if (expect && checked.type !== expect && checked.type !== 'dyn') {
    throw new ExpressionError(`expected a ${expect} expression, got ${checked.type}`);
  }
  return {
    source,
    evaluate(ctx) {
      try {
        return parsed(toCel({ item: null, result: null, ...ctx }) as Record<string, unknown>);
      } catch (err) {
        throw new ExpressionError(`${source}: ${firstLine(err)}`);
      }
    },
  };
}

const firstLine = (err: unknown) => String((err as Error).message ?? err).split('\n')[0] ?? '';

/** How values read in sentences: integers with thousands separators, doubles with at most two decimals. */
export function display(v: unknown): string {
  if (typeof v === 'bigint') return formatCount(Number(v));
  if (typeof v === 'number') return Number.isInteger(v) ? formatCount(v) : String(Math.round(v * 100) / 100);
  if (Array.isArray(v)) return v.map(display).join(', ');
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(fromCel(v));
  return String(v);
}

export interface Template {
  source: string;
  render(ctx: ExpressionContext): string;
}

/** "mount namespace of pid {{ ns.pid }} holds {{ ns.mounts }} mounts": each {{ }} is a CEL expression. */
export function compileTemplate(source: string, parse: ParseMode = 'now'): Template {
  const parts: (string | Expression)[] = [];
  let rest = source;
  for (;;) {
    const open = rest.indexOf('{{');
    if (open < 0) break;
    const close = rest.indexOf('}}', open + 2);
    if (close < 0) throw new ExpressionError('unclosed "{{" in template');
    parts.push(rest.slice(0, open), compileExpression(rest.slice(open + 2, close).trim(), { parse }));
    rest = rest.slice(close + 2);
  }
  parts.push(rest);
  return {
    source,
    render: (ctx) => parts.map((p) => (typeof p === 'string' ? p : display(p.evaluate(ctx)))).join(''),
  };
}
