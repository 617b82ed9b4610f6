import { errnoName } from '../../../src/core/errno.ts';
import type { FuncgraphCall, FuncgraphErrorRow, FuncgraphResult } from './result.ts';

/**
 * Reads the text the function_graph tracer prints (trace / trace_pipe), as laid out by
 * kernel/trace/trace_functions_graph.c:
 *
 *   [abstime |  ]CPU) [comm-pid | ][overhead] duration | <2 + 2*depth spaces>entry() {  |  leaf();  |  }
 *
 * Depth comes from the indentation, not from brace counting: when events are lost, or a call began before the
 * capture, the indentation still says where a line belongs, so one gap does not shift the rest of the tree.
 */

export type GraphLine =
  | { kind: 'entry'; cpu: number; task?: Task; depth: number; name: string }
  | { kind: 'leaf'; cpu: number; task?: Task; depth: number; name: string; durationUs: number | null; ret?: string }
  | { kind: 'exit'; cpu: number; task?: Task; depth: number; name?: string; durationUs: number | null; ret?: string }
  | { kind: 'comment'; cpu: number; task?: Task }
  | { kind: 'irq'; cpu: number; task?: Task; enter: boolean }
  | { kind: 'switch'; cpu: number; prev: Task; next: Task }
  | { kind: 'lost'; cpu: number; count: number }
  | { kind: 'blank' };

export interface Task {
  comm: string;
  pid: number;
}

const ABSTIME = /^\s*\d+\.\d+\s+\|\s*/;
const CPU = /^\s*(\d+)\)(.*)$/;
const SWITCH = /^\s+(\S.*?)-(\d+)\s+=>\s+(\S.*?)-(\d+)\s*$/;
const LOST = /^\s*CPU:(\d+) \[LOST (\d+) EVENTS\]\s*$/;
const NO_DURATION = /^\s*\|/;
// "+ 12.345 us   |": the optional mark is the overhead flag (+ > 10 us, ! > 100 us, # > 1 ms, * > 10 ms, @ > 100 ms, $ > 1 s).
const DURATION = /^\s*(?:[+!#*@$]\s*)?(\d+(?:\.\d+)?)\s+us\s*\|/;
const IRQ = /^\s*(==========>|<==========)\s*\|/;
const PROC = /^\s*(.+?)-(\d+)\s*\|/;
// "} /* name */", "} /* name() */", "} /* name = -22 */", "} /* = 0x0 */" — all optional.
const EXIT = /^\}\s*(?:\/\*\s*(.*?)\s*\*\/)?\s*$/;
const LEAF = /^([^()]+?)\s*\((.*)\);\s*(?:\/\*\s*(?:ret)?\s*=\s*(\S+)\s*\*\/)?\s*$/;
const ENTRY = /^([^()]+?)\s*\((.*)\)\s*\{\s*$/;
const COMMENT = /^\/\*.*\*\/\s*$/;
const RET_IN_TAIL = /^(.*?)\s*=\s*(\S+)$/;
const MAX_DEPTH = 512;

/** Classifies one line; null when it is neither a graph line nor a marker this parser knows. */
export function parseGraphLine(raw: string): GraphLine | null {
  const line = raw.replace(/\r$/, '');
  const trimmed = line.trim();
  // Headers, "##### CPU 2 buffer started ####" and the dashes around context-switch banners.
  if (trimmed === '' || trimmed.startsWith('#') || /^-+$/.test(trimmed)) return { kind: 'blank' };
  const lost = LOST.exec(line);
  if (lost) return { kind: 'lost', cpu: Number(lost[1]), count: Number(lost[2]) };

  const cpuMatch = CPU.exec(line.replace(ABSTIME, ''));
  if (!cpuMatch) return null;
  const cpu = Number(cpuMatch[1]);
  let rest = cpuMatch[2] ?? '';

  const sw = SWITCH.exec(rest);
  if (sw) {
    return {
      kind: 'switch',
      cpu,
      prev: { comm: sw[1] ?? '', pid: Number(sw[2]) },
      next: { comm: sw[3] ?? '', pid: Number(sw[4]) },
    };
  }

  let task: Task | undefined;
  let column = durationColumn(rest);
  if (column === null) {
    const proc = PROC.exec(rest);
    if (!proc) return null;
    task = { comm: (proc[1] ?? '').trim(), pid: Number(proc[2]) };
    rest = rest.slice(proc[0].length);
    column = durationColumn(rest);
    if (column === null) return null;
  }
  if (column.irq !== undefined) return { kind: 'irq', cpu, ...(task ? { task } : {}), enter: column.irq };

  const body = rest.slice(column.length);
  const indent = body.length - body.trimStart().length;
  const depth = Math.max(0, Math.floor((indent - 2) / 2));
  // The kernel's return stack is far shallower; a deeper indent is not a graph line, and would cost a placeholder each.
  if (depth > MAX_DEPTH) return null;
  const text = body.trim();
  const base = { cpu, ...(task ? { task } : {}), depth };

  const exit = EXIT.exec(text);
  if (exit) {
    const tail = exit[1];
    if (tail === undefined || tail === '') return { kind: 'exit', ...base, durationUs: column.durationUs };
    const withRet = RET_IN_TAIL.exec(tail);
    const name = cleanName(withRet ? (withRet[1] ?? '') : tail);
    return {
      kind: 'exit',
      ...base,
      ...(name ? { name } : {}),
      durationUs: column.durationUs,
      ...(withRet ? { ret: withRet[2] ?? '' } : {}),
    };
  }
  const leaf = LEAF.exec(text);
  if (leaf) {
    return {
      kind: 'leaf',
      ...base,
      name: leaf[1] ?? '',
      durationUs: column.durationUs,
      ...(leaf[3] !== undefined ? { ret: leaf[3] } : {}),
    };
  }
  const entry = ENTRY.exec(text);
  if (entry) return { kind: 'entry', ...base, name: entry[1] ?? '' };
  // trace_printk() and trace events show up inside the graph as C comments.
  if (COMMENT.test(text)) return { kind: 'comment', cpu, ...(task ? { task } : {}) };
  return null;
}

function durationColumn(rest: string): { length: number; durationUs: number | null; irq?: boolean } | null {
  const none = NO_DURATION.exec(rest);
  if (none) return { length: none[0].length, durationUs: null };
  const d = DURATION.exec(rest);
  if (d) return { length: d[0].length, durationUs: Number(d[1]) };
  const irq = IRQ.exec(rest);
  if (irq) return { length: irq[0].length, durationUs: null, irq: irq[1] === '==========>' };
  return null;
}

/** Older kernels print the tail as "/* name() *\/". */
function cleanName(s: string): string {
  return s.trim().replace(/\(\)$/, '');
}

const ERRNO_MAX = 4095;

/** "-22" → -22; "0x0" → 0; pointers that do not fit a double exactly stay as printed. */
export function parseRet(text: string): { ret: number | string; errno?: string } | undefined {
  let value: number | string;
  if (/^-?\d+$/.test(text)) value = Number(text);
  else if (/^0x[0-9a-f]+$/i.test(text)) {
    const big = BigInt(text);
    value = big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : text.toLowerCase();
  } else return undefined;
  if (typeof value === 'number' && value < 0 && value >= -ERRNO_MAX) return { ret: value, errno: errnoName(-value) };
  return { ret: value };
}

/** Stand-in name for a call whose entry was not in the trace and whose return did not name it. */
export const UNKNOWN = '(unknown)';

export interface ParseOptions {
  function: string;
  depth: number;
  /**
   * The trace was filtered with set_graph_function: a depth-0 call whose entry and name were not seen can only be
   * that function.
   */
  graphFunction?: boolean;
  /** At most this many top-level calls in the result (errors and the slowest first). */
  maxCalls?: number;
  /** At most this many call nodes in the result, all calls together. */
  maxNodes?: number;
  truncated?: boolean;
}

export const DEFAULT_MAX_CALLS = 100;
export const DEFAULT_MAX_NODES = 10_000;

interface Node extends FuncgraphCall {
  children: Node[];
}

interface Root {
  node: Node;
  seq: number;
  taskKey: string;
}

/** Builds the call trees: one stack per task, since a call that sleeps resumes wherever its task runs next. */
class GraphBuilder {
  readonly roots: Root[] = [];
  lostEvents = 0;
  unparsedLines = 0;
  private readonly stacks = new Map<string, Node[]>();
  private readonly unnamed = new WeakSet<Node>();
  /** Which task each CPU runs, from the context-switch banners when lines carry no comm-pid column. */
  private readonly running = new Map<number, string>();
  private readonly tasks = new Map<string, Task>();
  private seq = 0;

  add(line: GraphLine | null): void {
    this.seq++;
    if (line === null) {
      this.unparsedLines++;
      return;
    }
    switch (line.kind) {
      case 'blank':
      case 'comment':
      case 'irq':
        return;
      case 'lost':
        this.lostEvents += line.count;
        return;
      case 'switch':
        this.switchTask(line.cpu, line.prev, line.next);
        return;
      case 'entry': {
        const stack = this.stackAt(line, line.depth);
        const node = this.attach(line, stack, line.name);
        stack.push(node);
        return;
      }
      case 'leaf': {
        const stack = this.stackAt(line, line.depth);
        const node = this.attach(line, stack, line.name);
        node.durationUs = line.durationUs;
        setRet(node, line.ret);
        return;
      }
      case 'exit': {
        const stack = this.stackAt(line, line.depth + 1);
        const node = stack.pop();
        if (!node) return;
        node.durationUs = line.durationUs;
        if (line.name !== undefined && this.unnamed.has(node)) {
          node.name = line.name;
          this.unnamed.delete(node);
        }
        setRet(node, line.ret);
        return;
      }
    }
  }

  /** Names what is still unnamed: a depth-0 call under set_graph_function can only be the graph function. */
  finish(graphFunction: string | undefined): Root[] {
    for (const root of this.roots) {
      if (graphFunction !== undefined && this.unnamed.has(root.node)) {
        root.node.name = graphFunction;
        this.unnamed.delete(root.node);
      }
    }
    return this.roots;
  }

  private taskKey(line: { cpu: number; task?: Task }): string {
    if (line.task) {
      const key = `pid:${line.task.pid}`;
      this.tasks.set(key, line.task);
      this.running.set(line.cpu, key);
      return key;
    }
    return this.running.get(line.cpu) ?? `cpu:${line.cpu}`;
  }

  private switchTask(cpu: number, prev: Task, next: Task): void {
    const prevKey = `pid:${prev.pid}`;
    const anonymous = `cpu:${cpu}`;
    // Lines seen on this CPU before its first banner belonged to the task now switched out.
    if ((this.running.get(cpu) ?? anonymous) === anonymous) {
      const stack = this.stacks.get(anonymous);
      if (stack && !this.stacks.has(prevKey)) this.stacks.set(prevKey, stack);
      this.stacks.delete(anonymous);
      for (const root of this.roots) {
        if (root.taskKey !== anonymous) continue;
        root.taskKey = prevKey;
        root.node.pid = prev.pid;
        root.node.comm = prev.comm;
      }
    }
    this.tasks.set(prevKey, prev);
    this.tasks.set(`pid:${next.pid}`, next);
    this.running.set(cpu, `pid:${next.pid}`);
  }

  /** The line's task stack, cut or padded so that it holds exactly `length` open calls. */
  private stackAt(line: { cpu: number; task?: Task }, length: number): Node[] {
    const key = this.taskKey(line);
    let stack = this.stacks.get(key);
    if (!stack) {
      stack = [];
      this.stacks.set(key, stack);
    }
    // Deeper calls left open: their returns were lost.
    stack.length = Math.min(stack.length, length);
    // Shallower calls never seen: they began before the capture (or their entries were lost).
    while (stack.length < length) {
      const placeholder = this.attach(line, stack, UNKNOWN);
      this.unnamed.add(placeholder);
      stack.push(placeholder);
    }
    return stack;
  }

  private attach(line: { cpu: number; task?: Task }, stack: Node[], name: string): Node {
    const node: Node = { name, durationUs: null, children: [] };
    const parent = stack[stack.length - 1];
    if (parent) {
      parent.children.push(node);
      return node;
    }
    const taskKey = this.taskKey(line);
    const task = this.tasks.get(taskKey);
    if (task) {
      node.pid = task.pid;
      node.comm = task.comm;
    }
    node.cpu = line.cpu;
    this.roots.push({ node, seq: this.seq, taskKey });
    return node;
  }
}

function setRet(node: Node, text: string | undefined): void {
  if (text === undefined) return;
  const parsed = parseRet(text);
  if (!parsed) return;
  node.ret = parsed.ret;
  if (parsed.errno !== undefined) node.errno = parsed.errno;
}

function size(node: Node): number {
  let n = 1;
  for (const c of node.children) n += size(c);
  return n;
}

function hasError(node: Node): boolean {
  return node.errno !== undefined || node.children.some(hasError);
}

/** A copy with at most budget.left nodes, depth first; what is cut is counted on the node that lost children. */
function prune(node: Node, budget: { left: number }): FuncgraphCall {
  budget.left--;
  const { children, ...fields } = node;
  const out: FuncgraphCall = { ...fields, children: [] };
  for (let i = 0; i < children.length; i++) {
    if (budget.left <= 0) {
      out.omittedDescendants = children.slice(i).reduce((sum, c) => sum + size(c), 0);
      break;
    }
    const child = children[i];
    if (child) out.children.push(prune(child, budget));
  }
  return out;
}

function collectErrors(node: Node, counts: Map<string, FuncgraphErrorRow>): void {
  if (node.errno !== undefined) {
    const key = `${node.name}\0${node.errno}`;
    const row = counts.get(key) ?? { function: node.name, errno: node.errno, count: 0 };
    row.count++;
    counts.set(key, row);
  }
  for (const c of node.children) collectErrors(c, counts);
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const MAX_ERROR_ROWS = 50;

/** Keeps the calls an investigation looks at first: those with an error return, then the slowest. */
function selectCalls(roots: Root[], maxCalls: number, maxNodes: number): FuncgraphCall[] {
  const ranked = roots
    .map((r) => ({ ...r, error: hasError(r.node) }))
    .sort(
      (a, b) =>
        Number(b.error) - Number(a.error) ||
        (b.node.durationUs ?? -1) - (a.node.durationUs ?? -1) ||
        a.seq - b.seq,
    );
  const budget = { left: maxNodes };
  const kept: { seq: number; call: FuncgraphCall }[] = [];
  for (const r of ranked) {
    if (kept.length >= maxCalls || budget.left <= 0) break;
    kept.push({ seq: r.seq, call: prune(r.node, budget) });
  }
  return kept.sort((a, b) => a.seq - b.seq).map((k) => k.call);
}

export function parseFuncgraph(text: string, opts: ParseOptions): FuncgraphResult {
  const builder = new GraphBuilder();
  for (const line of text.split('\n')) builder.add(parseGraphLine(line));
  const roots = builder.finish(opts.graphFunction ? opts.function : undefined);

  const durations = roots.map((r) => r.node.durationUs).filter((d): d is number => d !== null);
  const errorCounts = new Map<string, FuncgraphErrorRow>();
  for (const r of roots) collectErrors(r.node, errorCounts);
  const errors = [...errorCounts.values()]
    .sort((a, b) => b.count - a.count || cmp(a.function, b.function) || cmp(a.errno, b.errno))
    .slice(0, MAX_ERROR_ROWS);
  const calls = selectCalls(roots, opts.maxCalls ?? DEFAULT_MAX_CALLS, opts.maxNodes ?? DEFAULT_MAX_NODES);

  return {
    function: opts.function,
    depth: opts.depth,
    calls,
    totalCalls: roots.length,
    maxDurationUs: durations.reduce<number | null>((max, d) => (max === null || d > max ? d : max), null),
    omittedCalls: roots.length - calls.length,
    errors,
    lostEvents: builder.lostEvents,
    truncated: opts.truncated ?? false,
    unparsedLines: builder.unparsedLines,
  };
}
