/** One executable mapping of /proc/<pid>/maps that can carry symbols: a file, or the kernel's [vdso]. */
export interface ProcMapping {
  start: bigint;
  end: bigint;
  /** Offset in the file of `start`. */
  offset: bigint;
  perms: string;
  /** As printed, "major:minor" in hex; kept to tell files apart, not decoded. */
  dev: string;
  inode: number;
  /** Without the " (deleted)" suffix. */
  path: string;
  /** The file was unlinked or replaced after it was mapped; its path now names another file or nothing. */
  deleted: boolean;
}

// start-end perms offset dev inode [pathname]; the pathname is the rest of the line and may contain spaces.
const LINE = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S{4})\s+([0-9a-f]+)\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)(?:\s+(.*))?$/i;
const DELETED = ' (deleted)';

/**
 * Executable mappings sorted by start. Anonymous ones (JIT code, [stack], [heap]) are dropped: no file to read
 * symbols from. Unparseable lines are skipped rather than failing: this runs on whatever a kernel prints.
 */
export function parseProcMaps(text: string): ProcMapping[] {
  const out: ProcMapping[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const [, start = '', end = '', perms = '', offset = '', dev = '', inode = '0', rawPath = ''] = m;
    if (perms[2] !== 'x') continue;
    const fileBacked = Number(inode) !== 0 && rawPath.startsWith('/');
    if (!fileBacked && rawPath !== '[vdso]') continue;
    const deleted = rawPath.endsWith(DELETED);
    out.push({
      start: BigInt(`0x${start}`),
      end: BigInt(`0x${end}`),
      offset: BigInt(`0x${offset}`),
      perms,
      dev,
      inode: Number(inode),
      path: deleted ? rawPath.slice(0, -DELETED.length) : rawPath,
      deleted,
    });
  }
  return out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

/** The mapping containing `address`, by binary search over sorted, non-overlapping mappings. */
export function findMapping(mappings: readonly ProcMapping[], address: bigint): ProcMapping | null {
  let lo = 0;
  let hi = mappings.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = mappings[mid];
    if (m === undefined) break;
    if (address < m.start) hi = mid;
    else if (address >= m.end) lo = mid + 1;
    else return m;
  }
  return null;
}
