import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';

/**
 * A JIT's perf map (/tmp/perf-<pid>.map): one "START SIZE name" line per code object, in hex, written by node
 * (--perf-basic-prof), Java (jcmd Compiler.perfmap and -XX:+DumpPerfMapAtExit: 0x-prefixed, padded to 16 digits;
 * perf-map-agent), Python 3.12+ (-X perf) and .NET (DOTNET_PerfMapEnabled=1). Names may hold spaces ("long
 * Busy.burnAlpha()", "StubRoutines (1)"). Runtimes only append, and a JIT reuses the address range of freed code: a
 * later line wins over an earlier one it overlaps, as in perf.
 *
 * Held compactly: a million-line map is ~100 MB of text, so ranges live in typed arrays sorted by start and names
 * stay bytes in the file's buffer until an address asks for one.
 */
export class PerfMap {
  private constructor(
    private readonly text: Buffer,
    /** Sorted by start, then by line order. */
    private readonly starts: Float64Array,
    private readonly ends: Float64Array,
    /** Line number of each range: where ranges overlap, the later line wins. */
    private readonly lines: Uint32Array,
    private readonly nameStart: Uint32Array,
    private readonly nameEnd: Uint32Array,
    /** maxEnd[i]: the furthest end of ranges 0..i, which bounds the backward scan over overlapping ranges. */
    private readonly maxEnd: Float64Array,
  ) {}

  /** Ranges read (lines that parsed). */
  get entries(): number {
    return this.starts.length;
  }

  /** Bytes held: the text plus the index. */
  get bytes(): number {
    return this.text.length + this.starts.length * (8 + 8 + 4 + 4 + 4 + 8);
  }

  /**
   * Parses a map's bytes. Lines that do not parse (blank lines, junk) and an unterminated last line (being written)
   * are skipped: this reads what any runtime printed, as it printed it. Addresses past 2^53 (only with 5-level paging
   * and a hint asking for them) are skipped too: ranges are kept as doubles for speed.
   */
  static parse(text: Buffer): PerfMap {
    // Upper bound on ranges: one per line.
    let lineCount = 1;
    for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) lineCount++;
    const starts = new Float64Array(lineCount);
    const sizes = new Float64Array(lineCount);
    const nameStart = new Uint32Array(lineCount);
    const nameEnd = new Uint32Array(lineCount);
    let n = 0;
    let pos = 0;
    const len = text.length;
    while (pos < len) {
      const eol = text.indexOf(10, pos);
      // Runtimes end every line: text after the last line break is a line still being written, maybe torn.
      if (eol < 0) break;
      const start = readHex(text, pos, eol);
      if (start !== null) {
        const size = readHex(text, start.next + 1, eol);
        if (size !== null && text[start.next] === 32 && text[size.next] === 32 && size.value > 0) {
          let nameTo = eol;
          if (nameTo > size.next + 1 && text[nameTo - 1] === 13) nameTo--;
          starts[n] = start.value;
          sizes[n] = size.value;
          nameStart[n] = size.next + 1;
          nameEnd[n] = nameTo;
          n++;
        }
      }
      pos = eol + 1;
    }
    // Sort line numbers by start; equal starts keep line order (the later line is found last and wins).
    const order = sortedOrder(starts, n);
    const s = new Float64Array(n);
    const e = new Float64Array(n);
    const ns = new Uint32Array(n);
    const ne = new Uint32Array(n);
    const maxEnd = new Float64Array(n);
    let furthest = 0;
    for (let i = 0; i < n; i++) {
      const line = order[i] ?? 0;
      s[i] = starts[line] ?? 0;
      e[i] = (starts[line] ?? 0) + (sizes[line] ?? 0);
      ns[i] = nameStart[line] ?? 0;
      ne[i] = nameEnd[line] ?? 0;
      furthest = Math.max(furthest, e[i] ?? 0);
      maxEnd[i] = furthest;
    }
    return new PerfMap(text, s, e, order, ns, ne, maxEnd);
  }

  /** The name of the code at `address`, or null when no range holds it. */
  lookup(address: bigint): string | null {
    if (address >= 1n << 53n) return null;
    const a = Number(address);
    // The last range starting at or before a.
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] ?? 0) <= a) lo = mid + 1;
      else hi = mid;
    }
    // Back over earlier ranges while one could still reach a; of those holding it, the latest line wins.
    let best = -1;
    let bestLine = -1;
    for (let i = lo - 1; i >= 0 && (this.maxEnd[i] ?? 0) > a; i--) {
      if ((this.ends[i] ?? 0) > a && (this.lines[i] ?? 0) > bestLine) {
        best = i;
        bestLine = this.lines[i] ?? 0;
      }
    }
    if (best < 0) return null;
    return this.text.toString('utf8', this.nameStart[best], this.nameEnd[best]).trim() || null;
  }
}

/**
 * Line numbers ordered by start, equal starts in line order. JIT code usually spans a few GiB at most: then start
 * and line number pack into one double (start offset × 2^k + line, 2^k > lines) and the typed array's native sort does the
 * work, several times faster than a comparator over a million lines. Otherwise, the comparator.
 */
function sortedOrder(starts: Float64Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  let sorted = true;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const s = starts[i] ?? 0;
    order[i] = i;
    if (i > 0 && s < (starts[i - 1] ?? 0)) sorted = false;
    if (s < min) min = s;
    if (s > max) max = s;
  }
  if (sorted) return order;
  const LINE_BITS = 2 ** Math.ceil(Math.log2(n + 1));
  if ((max - min) * LINE_BITS < Number.MAX_SAFE_INTEGER) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = ((starts[i] ?? 0) - min) * LINE_BITS + i;
    keys.sort();
    for (let i = 0; i < n; i++) order[i] = (keys[i] ?? 0) % LINE_BITS;
    return order;
  }
  return order.sort((a, b) => (starts[a] ?? 0) - (starts[b] ?? 0) || a - b);
}

/** Hex digits (an optional 0x, either case) from `from` up to a space or `to`; null when there are none. */
function readHex(text: Buffer, from: number, to: number): { value: number; next: number } | null {
  let at = from;
  if (text[at] === 48 && (text[at + 1] === 120 || text[at + 1] === 88)) at += 2;
  const first = at;
  let value = 0;
  let significant = 0;
  while (at < to) {
    const c = text[at] ?? 0;
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else break;
    if (value > 0 || d > 0) significant++;
    value = value * 16 + d;
    at++;
  }
  // Leading zeros are fine (some runtimes pad to 16 digits); 14 significant digits could pass 2^53.
  if (at === first || significant > 13) return null;
  return { value, next: at };
}

/** Why a perf map that exists was not used. */
export class PerfMapRefused extends Error {
  override name = 'PerfMapRefused';
}

/** Largest map read: past this a runtime has logged for days; reading it would cost the node more than it tells. */
export const PERF_MAP_MAX_BYTES = 512 * 1024 * 1024;

/**
 * Perf maps by file identity and growth (device, inode, size, mtime), least recently used evicted past a byte
 * budget. Shared by the captures of an agent: a busy JIT's map is read again only when it grew.
 */
export class PerfMapCache {
  private readonly maps = new Map<string, PerfMap>();
  private held = 0;
  /** Maps parsed so far (cache misses). */
  reads = 0;

  constructor(readonly budgetBytes = 256 * 1024 * 1024) {}

  get size(): number {
    return this.maps.size;
  }

  /**
   * The map at `path`, or null when there is none. Throws PerfMapRefused when one exists but is not to be read: not
   * a regular file (a container may plant a symlink or a FIFO there), owned by neither `ownerUid` nor root (perf's
   * own rule), or too large.
   */
  load(path: string, ownerUid: number | null): PerfMap | null {
    let fd: number;
    try {
      // The last component is not followed: a link there could point the agent at any file of the host.
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      if (code === 'ELOOP') throw new PerfMapRefused(`${path} is a symbolic link`);
      throw new PerfMapRefused(`${path}: ${code ?? (err as Error).message}`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new PerfMapRefused(`${path} is not a regular file`);
      if (ownerUid !== null && st.uid !== ownerUid && st.uid !== 0) {
        throw new PerfMapRefused(`${path} is owned by uid ${st.uid}, not by the process (uid ${ownerUid}) or root`);
      }
      if (st.size > PERF_MAP_MAX_BYTES) throw new PerfMapRefused(`${path} is ${st.size} bytes, over the ${PERF_MAP_MAX_BYTES}-byte limit`);
      return this.fromFd(fd, st);
    } finally {
      closeSync(fd);
    }
  }

  private fromFd(fd: number, st: Stats): PerfMap {
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    const cached = this.maps.get(key);
    if (cached !== undefined) {
      this.maps.delete(key);
      this.maps.set(key, cached);
      return cached;
    }
    this.reads++;
    const map = PerfMap.parse(readUpTo(fd, st.size));
    this.maps.set(key, map);
    this.held += map.bytes;
    // Oldest first; the map just read stays even if it alone is over the budget (it is what this capture needs).
    for (const [k, m] of this.maps) {
      if (this.held <= this.budgetBytes || k === key) break;
      this.maps.delete(k);
      this.held -= m.bytes;
    }
    return map;
  }
}

/**
 * The first `size` bytes, as fstat saw them: the runtime keeps appending while this reads, and a line it is writing
 * right now may be torn (the parser skips it).
 */
function readUpTo(fd: number, size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let got = 0;
  while (got < size) {
    const n = readSync(fd, buf, got, size - got, got);
    if (n === 0) break;
    got += n;
  }
  return got === size ? buf : buf.subarray(0, got);
}

/** True when `dir` is a real directory, not a link: a container's /tmp must not lead the agent elsewhere. */
export function isRealDirectory(dir: string): boolean {
  try {
    return lstatSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** The agent's cache, shared by all its captures. */
export const defaultPerfMapCache = new PerfMapCache();
