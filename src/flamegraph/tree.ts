/**
 * Merges folded stacks ("frame;frame;...;leaf count" per line) into a frame tree, streaming.
 *
 * Memory grows with the number of distinct frames (tree nodes) and distinct function names, never with the input:
 * lines are parsed in place from the current chunk, only new function names are copied out (once each), and nodes
 * live in flat typed arrays (about 40 bytes per node including the hash index) instead of one object per frame.
 */

/** A malformed folded-stack line; `line` is its 1-based line number. */
export class FoldedInputError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`folded stacks line ${line}: ${message}`);
    this.name = 'FoldedInputError';
    this.line = line;
  }
}

export interface FrameTreeOptions {
  /** Merge from the leaf: each stack is reversed before it is merged (the "callers of" view). */
  reverse?: boolean;
}

/**
 * Node 0 is the synthetic root ("all"); every other node is one frame under its parent, unique per (parent, name).
 * Per node: its key (parent, name id) and its total samples; 16 bytes, plus 4–8 bytes of hash index.
 */
export class FrameTree {
  /** Function names by id. */
  readonly names: string[] = [];
  private nameHashes = new Int32Array(1024);
  private nameTable = new Int32Array(2048); // name id + 1, 0 = free
  /** Number of nodes, the root included. */
  size = 1;
  /** keys[2n] = parent of node n (-1 for the root), keys[2n + 1] = its name id (-1 for the root). */
  keys = new Int32Array(2048);
  /** Samples of the node and everything below it. */
  total = new Float64Array(1024);
  // Open addressing (linear probing) over (parent, name) → node + 1; 0 marks a free slot.
  private table = new Int32Array(4096);
  private mask = 4095;

  constructor() {
    this.keys[0] = -1;
    this.keys[1] = -1;
  }

  get totalSamples(): number {
    return this.total[0]!;
  }

  parentOf(node: number): number {
    return this.keys[2 * node]!;
  }

  /** The node's function name ("all" for the root). */
  nameOf(node: number): string {
    const id = this.keys[2 * node + 1]!;
    return id < 0 ? 'all' : this.names[id]!;
  }

  /** The id of a function name, interning it on first sight. */
  intern(name: string): number {
    return this.internRange(name, 0, name.length, nameHash(name, 0, name.length));
  }

  /** The id of the name text[from, to), whose nameHash is `h`: nothing is sliced unless the name is new. */
  internRange(text: string, from: number, to: number, h: number): number {
    const len = to - from;
    const names = this.names;
    const hashes = this.nameHashes;
    let mask = this.nameTable.length - 1;
    let slot = h & mask;
    for (;;) {
      const entry = this.nameTable[slot]!;
      if (entry === 0) break;
      const id = entry - 1;
      if (hashes[id] === h) {
        const name = names[id]!;
        if (name.length === len && text.startsWith(name, from)) return id;
      }
      slot = (slot + 1) & mask;
    }
    const id = names.length;
    // A slice of a large chunk would keep the whole chunk alive: keep a flat copy of the name instead.
    names.push(flatCopy(text.slice(from, to)));
    if (id === hashes.length) {
      const bigger = new Int32Array(id * 2);
      bigger.set(hashes);
      this.nameHashes = bigger;
    }
    this.nameHashes[id] = h;
    this.nameTable[slot] = id + 1;
    if (names.length * 2 > this.nameTable.length) {
      const table = new Int32Array(this.nameTable.length * 2);
      mask = table.length - 1;
      for (let i = 0; i < names.length; i++) {
        let at = this.nameHashes[i]! & mask;
        while (table[at] !== 0) at = (at + 1) & mask;
        table[at] = i + 1;
      }
      this.nameTable = table;
    }
    return id;
  }

  /** The child of `parent` named `nameId`, created (with no samples) if missing. */
  child(parent: number, nameId: number): number {
    const table = this.table;
    const keys = this.keys;
    const mask = this.mask;
    let slot = slotHash(parent, nameId) & mask;
    for (;;) {
      const entry = table[slot]!;
      if (entry === 0) break;
      const k = 2 * (entry - 1);
      if (keys[k + 1] === nameId && keys[k] === parent) return entry - 1;
      slot = (slot + 1) & mask;
    }
    if (this.size === this.total.length) this.growNodes();
    const node = this.size++;
    this.keys[2 * node] = parent;
    this.keys[2 * node + 1] = nameId;
    this.total[node] = 0;
    table[slot] = node + 1;
    if (this.size * 2 > table.length) this.rehash();
    return node;
  }

  private growNodes(): void {
    const cap = this.total.length * 2;
    const keys = new Int32Array(cap * 2);
    keys.set(this.keys);
    this.keys = keys;
    const total = new Float64Array(cap);
    total.set(this.total);
    this.total = total;
  }

  private rehash(): void {
    const table = new Int32Array(this.table.length * 2);
    const mask = table.length - 1;
    const keys = this.keys;
    for (let node = 1; node < this.size; node++) {
      let slot = slotHash(keys[2 * node]!, keys[2 * node + 1]!) & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = node + 1;
    }
    this.table = table;
    this.mask = mask;
  }
}

function slotHash(parent: number, nameId: number): number {
  let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(nameId + 1, 0x85ebca77);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h;
}

/** FNV-1a over the UTF-16 code units of text[from, to), finalized, for the intern table. */
function nameHash(text: string, from: number, to: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = from; i < to; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h;
}

/** A copy of `s` that shares no storage with the string it was sliced from (lone surrogates survive). */
function flatCopy(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

const SEMI = 59; // ;
const SPACE = 32;
const TAB = 9;
const CR = 13;
const HASH = 35; // #
const DOT = 46;
const ZERO = 48;
const NINE = 57;

/**
 * Streaming builder: feed text with `write` (chunks may split lines anywhere), then `end()`.
 * Blank lines and lines starting with "#" are ignored; a line without a trailing count, or whose count is not a
 * non-negative number, throws FoldedInputError with its line number. Lines with a zero count add nothing.
 * Empty frames ("a;;b") become "[unknown]". The count follows the last space, so frames may contain spaces.
 */
export class FrameTreeBuilder {
  readonly tree = new FrameTree();
  private readonly reverse: boolean;
  private carry = '';
  private lineNo = 0;
  private ids = new Int32Array(256);
  // Prefix cache: the leading frames the line shares with the previous one are not looked up again (folded files
  // are usually sorted, so consecutive lines share much of their stack). `ids` holds the previous line's name ids.
  private prevDepth = 0;
  private nodes = new Int32Array(256); // the previous line's nodes (without reverse)

  constructor(options: FrameTreeOptions = {}) {
    this.reverse = options.reverse === true;
  }

  write(chunk: string): void {
    const text = this.carry === '' ? chunk : this.carry + chunk;
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      this.line(text, start, nl);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    this.carry = start === 0 ? text : text.slice(start);
  }

  /** Finishes the last (unterminated) line and returns the tree. */
  end(): FrameTree {
    if (this.carry !== '') {
      const text = this.carry;
      this.carry = '';
      this.line(text, 0, text.length);
    }
    this.prevDepth = 0;
    return this.tree;
  }

  /** Parses and merges text[start, end) as one line. */
  private line(text: string, start: number, end: number): void {
    const lineNo = ++this.lineNo;
    let e = end;
    while (e > start) {
      const c = text.charCodeAt(e - 1);
      if (c !== SPACE && c !== TAB && c !== CR) break;
      e--;
    }
    let s = start;
    while (s < e) {
      const c = text.charCodeAt(s);
      if (c !== SPACE && c !== TAB) break;
      s++;
    }
    if (s === e || text.charCodeAt(s) === HASH) return;

    const sp = text.lastIndexOf(' ', e - 1);
    if (sp < s) throw new FoldedInputError(lineNo, `expected "frame;frame;... count", got ${preview(text, s, e)}`);
    const count = parseCount(text, sp + 1, e);
    if (Number.isNaN(count)) {
      const what = text.charCodeAt(sp + 1) === 45 ? 'negative sample count' : 'sample count is not a number';
      throw new FoldedInputError(lineNo, `${what} in ${preview(text, s, e)}`);
    }
    let se = sp;
    while (se > s && text.charCodeAt(se - 1) === SPACE) se--;
    if (se === s) throw new FoldedInputError(lineNo, `no frames before the count in ${preview(text, s, e)}`);
    if (count === 0) return;

    // Frames shared with the previous line are matched against its names in place; without `reverse` their nodes
    // are reused too.
    const tree = this.tree;
    const names = tree.names;
    const reverse = this.reverse;
    let ids = this.ids;
    let nodes = this.nodes;
    let depth = 0;
    let pos = s;
    let node = 0;
    let done = false;
    const prevDepth = this.prevDepth;
    while (depth < prevDepth) {
      const name = names[ids[depth]!]!;
      const stop = pos + name.length;
      if (stop > se || (stop < se && text.charCodeAt(stop) !== SEMI) || !text.startsWith(name, pos)) break;
      depth++;
      pos = stop + 1;
      if (stop === se) {
        done = true;
        break;
      }
    }
    if (depth > 0 && !reverse) {
      const total = tree.total;
      for (let j = 0; j < depth; j++) total[nodes[j]!]! += count;
      node = nodes[depth - 1]!;
    }

    while (!done) {
      let stop = text.indexOf(';', pos);
      if (stop === -1 || stop > se) stop = se;
      const id = stop === pos ? tree.intern('[unknown]') : tree.internRange(text, pos, stop, nameHash(text, pos, stop));
      if (depth === ids.length) {
        this.ids = ids = grow(ids);
        this.nodes = nodes = grow(nodes);
      }
      ids[depth] = id;
      if (!reverse) {
        node = tree.child(node, id);
        tree.total[node]! += count;
        nodes[depth] = node;
      }
      depth++;
      if (stop === se) break;
      pos = stop + 1;
    }
    this.prevDepth = depth;
    if (reverse) {
      for (let k = depth - 1; k >= 0; k--) {
        node = tree.child(node, ids[k]!);
        tree.total[node]! += count;
      }
    }
    tree.total[0]! += count;
  }
}

function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(a.length * 2);
  bigger.set(a);
  return bigger;
}

/** A non-negative decimal ("12", "3.5") in text[from, to), or NaN. */
function parseCount(text: string, from: number, to: number): number {
  if (from >= to) return NaN;
  let n = 0;
  let i = from;
  for (; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > NINE) break;
    n = n * 10 + (c - ZERO);
  }
  if (i === to) return n;
  if (text.charCodeAt(i) !== DOT || i === from) return NaN;
  for (let j = i + 1; j < to; j++) {
    const c = text.charCodeAt(j);
    if (c < ZERO || c > NINE) return NaN;
  }
  return Number(text.slice(from, to));
}

function preview(text: string, s: number, e: number): string {
  return JSON.stringify(text.slice(s, Math.min(e, s + 80)));
}

/**
 * Builds the tree from a whole text, or from an iterable of lines (each element one or more whole lines, with or
 * without the trailing newline). For arbitrary chunks use FrameTreeBuilder or buildFrameTreeFromStream.
 */
export function buildFrameTree(input: string | Iterable<string>, options: FrameTreeOptions = {}): FrameTree {
  const builder = new FrameTreeBuilder(options);
  if (typeof input === 'string') {
    builder.write(input);
  } else {
    for (const lines of input) {
      builder.write(lines);
      if (!lines.endsWith('\n')) builder.write('\n');
    }
  }
  return builder.end();
}

/** Builds the tree from a stream of text or UTF-8 byte chunks (a file or object-storage read stream). */
export async function buildFrameTreeFromStream(
  input: AsyncIterable<string | Uint8Array>,
  options: FrameTreeOptions = {},
): Promise<FrameTree> {
  const builder = new FrameTreeBuilder(options);
  const decoder = new TextDecoder();
  for await (const chunk of input) {
    builder.write(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
  }
  const rest = decoder.decode();
  if (rest !== '') builder.write(rest);
  return builder.end();
}
