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
  /**
   * The input's size in bytes, when the caller knows it (a file): room for its likely number of frames is made at
   * once, so the node arrays and their index grow less often or not at all. Each regrowth copies and re-indexes every
   * node into freshly zeroed memory, which dominated building the tree of a large profile. Only a starting size: the
   * tree still grows past it.
   */
  expectedBytes?: number;
}

/**
 * Input bytes per distinct frame, on the small side of what profiles show (sorted folded files of deep stacks share
 * most of each line with the one before: 88 bytes per node for 200k synthetic stacks of depth 4–14).
 */
const BYTES_PER_NODE = 64;
/** The most nodes a hint reserves room for (about 100 MB of arrays): a wrong guess must not cost more. */
const MAX_EXPECTED_NODES = 1 << 22;

/**
 * Node 0 is the synthetic root ("all"); every other node is one frame under its parent, unique per (parent, name).
 * Per node: its key (parent, name id) and its total samples; 16 bytes, plus 4–8 bytes of hash index.
 */
export class FrameTree {
  /** Function names by id. */
  readonly names: string[] = [];
  private nameHashes = new Int32Array(1024);
  private nameTable = new Int32Array(2048); // name id + 1, 0 = free
  // The names' UTF-8 bytes, so that byte input is matched without decoding: name `id` is
  // nameBytes[nameStart[id], nameStart[id] + nameLength[id]); nameLength is -1 for a name with lone surrogates.
  private nameBytes = new Uint8Array(16384);
  private nameView = new DataView(this.nameBytes.buffer);
  private nameBytesUsed = 0;
  private nameStart = new Int32Array(1024);
  private nameLength = new Int32Array(1024);
  /** Number of nodes, the root included. */
  size = 1;
  /** keys[2n] = parent of node n (-1 for the root), keys[2n + 1] = its name id (-1 for the root). */
  keys = new Int32Array(2048);
  /** Samples of the node and everything below it. */
  total = new Float64Array(1024);
  // Open addressing (linear probing) over (parent, name) → node + 1; 0 marks a free slot.
  private table = new Int32Array(4096);
  private mask = 4095;
  // Nodes [indexed, size) are not in the table yet (see newChild).
  private indexed = 1;

  constructor(expectedNodes = 0) {
    if (expectedNodes > this.total.length) {
      // Powers of two, as the index's mask needs; the index stays at most half full, as `rehash` keeps it.
      const cap = 2 ** Math.ceil(Math.log2(Math.min(expectedNodes, MAX_EXPECTED_NODES)));
      this.keys = new Int32Array(cap * 2);
      this.total = new Float64Array(cap);
      this.table = new Int32Array(cap * 4);
      this.mask = cap * 4 - 1;
    }
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
    const mask = this.nameTable.length - 1;
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
    // A slice of a large chunk would keep the whole chunk alive: keep a flat copy of the name instead.
    const name = flatCopy(text.slice(from, to));
    const id = this.addName(name, h, slot);
    let ascii = true;
    for (let i = 0; i < len; i++) {
      const c = name.charCodeAt(i);
      if (c > 127) {
        ascii = false;
        // Lone surrogates have no UTF-8 form (and U+FFFD's bytes must not match them): such names get no bytes.
        if (c >= 0xd800 && c <= 0xdfff) return id;
      }
    }
    if (ascii) {
      const at = this.reserveBytes(id, len);
      const bytes = this.nameBytes;
      for (let i = 0; i < len; i++) bytes[at + i] = name.charCodeAt(i);
    } else {
      const encoded = new TextEncoder().encode(name);
      const at = this.reserveBytes(id, encoded.length); // first: it may replace nameBytes
      this.nameBytes.set(encoded, at);
    }
    return id;
  }

  /**
   * The id of the ASCII name in bytes [from, to) of `view`, whose nameHash (over the bytes, which are its UTF-16 code
   * units) is `h`: the name is decoded only if it is new.
   */
  internAscii(view: DataView, from: number, to: number, h: number): number {
    const len = to - from;
    const hashes = this.nameHashes;
    const table = this.nameTable;
    const mask = table.length - 1;
    let slot = h & mask;
    for (;;) {
      const entry = table[slot]!;
      if (entry === 0) break;
      const id = entry - 1;
      if (hashes[id] === h && this.nameLength[id] === len && sameBytes(this.nameView, this.nameStart[id]!, view, from, len)) {
        return id;
      }
      slot = (slot + 1) & mask;
    }
    const bytes = new Uint8Array(view.buffer, view.byteOffset + from, len);
    const id = this.addName(utf8.decode(bytes), h, slot);
    const at = this.reserveBytes(id, len); // first: it may replace nameBytes
    this.nameBytes.set(bytes, at);
    return id;
  }

  /**
   * Whether bytes [from, to) of `view` start with the UTF-8 bytes of name `id`, followed by ";" or `to`: used to
   * match the frames a line shares with the previous one. Returns the end of the name, or -1.
   */
  matchName(id: number, view: DataView, from: number, to: number): number {
    const len = this.nameLength[id]!;
    const stop = from + len;
    if (len < 0 || stop > to || (stop < to && view.getUint8(stop) !== SEMI)) return -1;
    return sameBytes(this.nameView, this.nameStart[id]!, view, from, len) ? stop : -1;
  }

  /** Appends a new name whose free intern slot is `slot`; returns its id. */
  private addName(name: string, h: number, slot: number): number {
    const names = this.names;
    const id = names.length;
    names.push(name);
    if (id === this.nameHashes.length) {
      this.nameHashes = growInt32(this.nameHashes);
      this.nameStart = growInt32(this.nameStart);
      this.nameLength = growInt32(this.nameLength);
    }
    this.nameHashes[id] = h;
    this.nameLength[id] = -1;
    this.nameTable[slot] = id + 1;
    if (names.length * 2 > this.nameTable.length) {
      const table = new Int32Array(this.nameTable.length * 2);
      const mask = table.length - 1;
      for (let i = 0; i < names.length; i++) {
        let at = this.nameHashes[i]! & mask;
        while (table[at] !== 0) at = (at + 1) & mask;
        table[at] = i + 1;
      }
      this.nameTable = table;
    }
    return id;
  }

  /** Room for `len` bytes of name `id` in the arena; returns where they go. */
  private reserveBytes(id: number, len: number): number {
    const at = this.nameBytesUsed;
    if (at + len > this.nameBytes.length) {
      const bigger = new Uint8Array(Math.max(2 * this.nameBytes.length, at + len));
      bigger.set(this.nameBytes.subarray(0, at));
      this.nameBytes = bigger;
      this.nameView = new DataView(bigger.buffer);
    }
    this.nameBytesUsed = at + len;
    this.nameStart[id] = at;
    this.nameLength[id] = len;
    return at;
  }

  /** The child of `parent` named `nameId`, created (with no samples) if missing. */
  child(parent: number, nameId: number): number {
    if (this.indexed < this.size) this.index();
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
    const node = this.newChild(parent, nameId);
    this.indexed = this.size;
    table[slot] = node + 1;
    if (this.size * 2 > table.length) this.rehash();
    return node;
  }

  /**
   * Adds a child of `parent` named `nameId` that cannot exist yet (`parent` itself was just created), without
   * looking it up: the builder's stacks past their first new frame. Such nodes enter the hash index in a batch, on
   * the next `child` call or `index()`, which is cheaper than one by one.
   */
  newChild(parent: number, nameId: number): number {
    if (this.size === this.total.length) this.growNodes();
    const node = this.size++;
    this.keys[2 * node] = parent;
    this.keys[2 * node + 1] = nameId;
    this.total[node] = 0;
    return node;
  }

  /** Puts the nodes added by newChild into the hash index. */
  index(): void {
    if (this.size * 2 > this.table.length) {
      this.rehash();
      return;
    }
    const table = this.table;
    const keys = this.keys;
    const mask = this.mask;
    for (let node = this.indexed; node < this.size; node++) {
      let slot = slotHash(keys[2 * node]!, keys[2 * node + 1]!) & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = node + 1;
    }
    this.indexed = this.size;
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
    this.indexed = this.size;
  }
}

function slotHash(parent: number, nameId: number): number {
  let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(nameId + 1, 0x85ebca77);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h;
}

const FNV_BASIS = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the UTF-16 code units of text[from, to), finalized, for the intern table. */
function nameHash(text: string, from: number, to: number): number {
  let h = FNV_BASIS;
  for (let i = from; i < to; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return finishHash(h);
}

/** The finalizer of nameHash: byte input hashes ASCII names byte by byte (bytes = code units) and finishes here. */
function finishHash(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h;
}

const utf8 = new TextDecoder();

/** Whether a[aAt, aAt + len) and b[bAt, bAt + len) hold the same bytes; compares 4 at a time. */
function sameBytes(a: DataView, aAt: number, b: DataView, bAt: number, len: number): boolean {
  let i = 0;
  for (; i + 4 <= len; i += 4) if (a.getInt32(aAt + i) !== b.getInt32(bAt + i)) return false;
  for (; i < len; i++) if (a.getUint8(aAt + i) !== b.getUint8(bAt + i)) return false;
  return true;
}


/** A copy of `s` that shares no storage with the string it was sliced from (lone surrogates survive). */
function flatCopy(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

const NL = 10;
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
  readonly tree: FrameTree;
  private readonly reverse: boolean;
  private carry = '';
  // Byte input: the unterminated tail of the last chunk (copied: chunks are not retained).
  private carryBytes = new Uint8Array(0);
  private carryLength = 0;
  // Whether a UTF-8 byte order mark may still come (byte input strips it at the very start, as TextDecoder does).
  private atStart = true;
  private unknownId = -1;
  private lineNo = 0;
  private ids = new Int32Array(256);
  // Prefix cache: the leading frames the line shares with the previous one are not looked up again (folded files
  // are usually sorted, so consecutive lines share much of their stack). `ids` holds the previous line's name ids.
  private prevDepth = 0;
  private nodes = new Int32Array(256); // the previous line's nodes (without reverse)

  constructor(options: FrameTreeOptions = {}) {
    this.reverse = options.reverse === true;
    this.tree = new FrameTree(Math.ceil((options.expectedBytes ?? 0) / BYTES_PER_NODE));
  }

  /**
   * Feeds the next chunk: text, or UTF-8 bytes (parsed as bytes, without decoding whole chunks; a byte chunk is not
   * retained, so the caller may reuse its buffer). Chunks may split lines (and UTF-8 sequences) anywhere.
   */
  write(chunk: string | Uint8Array): void {
    if (typeof chunk !== 'string') {
      this.writeBytes(chunk);
      return;
    }
    this.atStart = false;
    if (this.carryLength > 0) {
      this.carry = utf8.decode(this.carryBytes.subarray(0, this.carryLength));
      this.carryLength = 0;
    }
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

  private writeBytes(chunk: Uint8Array): void {
    if (this.carry !== '') {
      this.appendCarry(new TextEncoder().encode(this.carry), 0);
      this.carry = '';
    }
    let start = 0;
    let nl = chunk.indexOf(NL);
    if (this.carryLength > 0 || this.atStart) {
      // Complete the carried line (or, at the start, gather enough to see a byte order mark).
      if (nl === -1) {
        this.appendCarry(chunk, 0);
        return;
      }
      this.appendCarry(chunk.subarray(0, nl), 0);
      const line = this.carryBytes;
      const length = this.carryLength;
      this.carryLength = 0;
      this.lineBytes(line, new DataView(line.buffer), this.skipBom(line, length), length);
      start = nl + 1;
      nl = chunk.indexOf(NL, start);
    }
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (nl !== -1) {
      this.lineBytes(chunk, view, start, nl);
      start = nl + 1;
      nl = chunk.indexOf(NL, start);
    }
    if (start < chunk.length) this.appendCarry(chunk, start);
  }

  /** Where the first line starts: after a UTF-8 byte order mark at the very start of byte input. */
  private skipBom(line: Uint8Array, length: number): number {
    if (!this.atStart) return 0;
    this.atStart = false;
    return length >= 3 && line[0] === 0xef && line[1] === 0xbb && line[2] === 0xbf ? 3 : 0;
  }

  private appendCarry(bytes: Uint8Array, from: number): void {
    const n = bytes.length - from;
    const length = this.carryLength;
    if (length + n > this.carryBytes.length) {
      const bigger = new Uint8Array(Math.max(2 * this.carryBytes.length, length + n, 1024));
      bigger.set(this.carryBytes.subarray(0, length));
      this.carryBytes = bigger;
    }
    this.carryBytes.set(from === 0 ? bytes : bytes.subarray(from), length);
    this.carryLength = length + n;
  }

  /** Finishes the last (unterminated) line and returns the tree. */
  end(): FrameTree {
    if (this.carryLength > 0) {
      const line = this.carryBytes;
      const length = this.carryLength;
      this.carryLength = 0;
      this.lineBytes(line, new DataView(line.buffer), this.skipBom(line, length), length);
    }
    if (this.carry !== '') {
      const text = this.carry;
      this.carry = '';
      this.line(text, 0, text.length);
    }
    this.prevDepth = 0;
    this.tree.index();
    return this.tree;
  }

  /**
   * One frame deeper, counting the line's samples. Nodes are appended, so one at index ≥ `firstNew` (the tree's
   * size when the line began) was made by this line and has no children yet: once a frame is new, so is everything
   * above it, and no lookup is needed.
   */
  private descend(node: number, id: number, count: number, firstNew: number): number {
    const next = node >= firstNew ? this.tree.newChild(node, id) : this.tree.child(node, id);
    this.tree.total[next]! += count;
    return next;
  }

  /** Counts the line's samples on the frames it shares with the previous line; returns the deepest one's node. */
  private reusePrefix(depth: number, count: number): number {
    const total = this.tree.total;
    for (let j = 0; j < depth; j++) total[this.nodes[j]!]! += count;
    return this.nodes[depth - 1]!;
  }

  /** Ends a line of `depth` frames: in reverse, its path is built leaf first, from the names collected. */
  private finishLine(depth: number, count: number, firstNew: number): void {
    this.prevDepth = depth;
    if (this.reverse) {
      let node = 0;
      for (let k = depth - 1; k >= 0; k--) node = this.descend(node, this.ids[k]!, count, firstNew);
    }
    this.tree.total[0]! += count;
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
    const firstNew = tree.size;
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
    if (depth > 0 && !reverse) node = this.reusePrefix(depth, count);

    while (!done) {
      let stop = text.indexOf(';', pos);
      if (stop === -1 || stop > se) stop = se;
      const id = stop === pos ? tree.intern('[unknown]') : tree.internRange(text, pos, stop, nameHash(text, pos, stop));
      if (depth === ids.length) {
        this.ids = ids = growInt32(ids);
        this.nodes = nodes = growInt32(nodes);
      }
      ids[depth] = id;
      if (!reverse) nodes[depth] = node = this.descend(node, id, count, firstNew);
      depth++;
      if (stop === se) break;
      pos = stop + 1;
    }
    this.finishLine(depth, count, firstNew);
  }
  /** Parses and merges bytes[start, end) as one line: the same as `line`, over UTF-8 bytes (`view` views them). */
  private lineBytes(bytes: Uint8Array, view: DataView, start: number, end: number): void {
    const lineNo = ++this.lineNo;
    let e = end;
    while (e > start) {
      const c = bytes[e - 1]!;
      if (c !== SPACE && c !== TAB && c !== CR) break;
      e--;
    }
    let s = start;
    while (s < e) {
      const c = bytes[s]!;
      if (c !== SPACE && c !== TAB) break;
      s++;
    }
    if (s === e || bytes[s] === HASH) return;

    let sp = e - 1;
    while (sp >= s && bytes[sp] !== SPACE) sp--;
    if (sp < s) {
      throw new FoldedInputError(lineNo, `expected "frame;frame;... count", got ${previewBytes(bytes, s, e)}`);
    }
    const count = parseCountBytes(bytes, sp + 1, e);
    if (Number.isNaN(count)) {
      const what = bytes[sp + 1] === 45 ? 'negative sample count' : 'sample count is not a number';
      throw new FoldedInputError(lineNo, `${what} in ${previewBytes(bytes, s, e)}`);
    }
    let se = sp;
    while (se > s && bytes[se - 1] === SPACE) se--;
    if (se === s) throw new FoldedInputError(lineNo, `no frames before the count in ${previewBytes(bytes, s, e)}`);
    if (count === 0) return;

    const tree = this.tree;
    const reverse = this.reverse;
    let ids = this.ids;
    let nodes = this.nodes;
    let depth = 0;
    let pos = s;
    let node = 0;
    const firstNew = tree.size;
    let done = false;
    const prevDepth = this.prevDepth;
    while (depth < prevDepth) {
      const stop = tree.matchName(ids[depth]!, view, pos, se);
      if (stop < 0) break;
      depth++;
      pos = stop + 1;
      if (stop === se) {
        done = true;
        break;
      }
    }
    if (depth > 0 && !reverse) node = this.reusePrefix(depth, count);

    while (!done) {
      // One pass finds the end of the frame and hashes it (ASCII bytes are its UTF-16 code units).
      let h = FNV_BASIS;
      let high = 0;
      let stop = pos;
      for (; stop < se; stop++) {
        const c = bytes[stop]!;
        if (c === SEMI) break;
        high |= c;
        h = Math.imul(h ^ c, FNV_PRIME);
      }
      let id: number;
      if (stop === pos) {
        if (this.unknownId < 0) this.unknownId = tree.intern('[unknown]');
        id = this.unknownId;
      } else if (high < 128) {
        id = tree.internAscii(view, pos, stop, finishHash(h));
      } else {
        id = tree.intern(utf8.decode(bytes.subarray(pos, stop)));
      }
      if (depth === ids.length) {
        this.ids = ids = growInt32(ids);
        this.nodes = nodes = growInt32(nodes);
      }
      ids[depth] = id;
      if (!reverse) nodes[depth] = node = this.descend(node, id, count, firstNew);
      depth++;
      if (stop === se) break;
      pos = stop + 1;
    }
    this.finishLine(depth, count, firstNew);
  }
}

function growInt32(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
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

/** parseCount over bytes. */
function parseCountBytes(bytes: Uint8Array, from: number, to: number): number {
  if (from >= to) return NaN;
  let n = 0;
  let i = from;
  for (; i < to; i++) {
    const c = bytes[i]!;
    if (c < ZERO || c > NINE) break;
    n = n * 10 + (c - ZERO);
  }
  if (i === to) return n;
  if (bytes[i] !== DOT || i === from) return NaN;
  for (let j = i + 1; j < to; j++) {
    const c = bytes[j]!;
    if (c < ZERO || c > NINE) return NaN;
  }
  return Number(utf8.decode(bytes.subarray(from, to)));
}

function previewBytes(bytes: Uint8Array, s: number, e: number): string {
  const text = utf8.decode(bytes.subarray(s, e));
  return preview(text, 0, text.length);
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
  for await (const chunk of input) builder.write(chunk);
  return builder.end();
}
