import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Just enough ELF64 to name user-space code addresses: the PT_LOAD segments (to turn a file offset into a link-time
 * address) and the function symbols of .symtab and .dynsym. Only section headers and symbol/string tables are read,
 * with positioned reads, so a 100 MB binary costs its symbol tables, not its size.
 */

export class ElfFormatError extends Error {}

export interface ElfLoad {
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
  memsz: bigint;
  /** PF_X = 1, PF_W = 2, PF_R = 4. */
  flags: number;
}

export interface ElfSection {
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: bigint;
  size: bigint;
  link: number;
  info: number;
  entsize: bigint;
}

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: bigint;
}

export interface ElfImage {
  machine: 'x86_64' | 'aarch64';
  /** ET_EXEC (2) or ET_DYN (3: PIE executables and shared libraries). */
  type: number;
  loads: readonly ElfLoad[];
  sections: readonly ElfSection[];
  /** Number of distinct function addresses; cheap, unlike `symbols()`. */
  symbolCount: number;
  /** Deduplicated function symbols sorted by address; decodes every name, meant for tests and tools. */
  symbols(): ElfSymbol[];
  /** Name of the function containing a link-time address, or null when no symbol provably covers it. */
  lookup(vaddr: bigint): string | null;
}

export const PF_X = 1;
const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const STB_LOCAL = 0;
const STB_GLOBAL = 1;
const SHN_LORESERVE = 0xff00;
const SHN_XINDEX = 0xffff;
const MACHINES: Record<number, ElfImage['machine']> = { 62: 'x86_64', 183: 'aarch64' };
/** Section and string tables beyond this are a corrupt header rather than a real binary. */
const MAX_TABLE_BYTES = 1 << 30;
/** How far lookup walks back past symbols that end before the address, for symbols nested in a bigger one. */
const NESTED_SCAN = 16;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

type Reader = (offset: bigint, length: number) => Buffer;

export function readElfSymbols(path: string): ElfImage {
  const fd = openSync(path, 'r');
  try {
    return readElfSymbolsFromFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** The caller keeps ownership of `fd`; nothing is read from it after this returns. */
export function readElfSymbolsFromFd(fd: number): ElfImage {
  const fileSize = BigInt(fstatSync(fd).size);
  const read: Reader = (offset, length) => {
    if (length < 0 || length > MAX_TABLE_BYTES || offset < 0n || offset + BigInt(length) > fileSize) {
      throw new ElfFormatError(`table at ${offset} (+${length} bytes) lies outside the ${fileSize}-byte file`);
    }
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, Number(offset) + done);
      if (n === 0) throw new ElfFormatError('file shrank while reading it');
      done += n;
    }
    return buf;
  };
  return parseElf(read, fileSize);
}

function parseElf(read: Reader, fileSize: bigint): ElfImage {
  if (fileSize < 64n) throw new ElfFormatError('too small to be an ELF file');
  const h = read(0n, 64);
  if (h.readUInt32BE(0) !== 0x7f454c46) throw new ElfFormatError('not an ELF file');
  if (h[4] !== 2) throw new ElfFormatError('only ELF64 is supported');
  if (h[5] !== 1) throw new ElfFormatError('only little-endian ELF is supported');
  const machineCode = h.readUInt16LE(18);
  const machine = MACHINES[machineCode];
  if (machine === undefined) throw new ElfFormatError(`unsupported ELF machine ${machineCode} (x86_64 and aarch64 only)`);

  const sections = readSections(read, h);
  const loads = readLoads(read, h, sections);
  const table = buildSymbolTable(read, sections);
  return {
    machine,
    type: h.readUInt16LE(16),
    loads,
    sections,
    symbolCount: table.count,
    symbols: table.all,
    lookup: table.lookup,
  };
}

function readSections(read: Reader, h: Buffer): ElfSection[] {
  const shoff = h.readBigUInt64LE(0x28);
  const shentsize = h.readUInt16LE(0x3a);
  let shnum = h.readUInt16LE(0x3c);
  let shstrndx = h.readUInt16LE(0x3e);
  if (shoff === 0n) return [];
  if (shentsize < 64) throw new ElfFormatError(`section header entries of ${shentsize} bytes`);
  // With many sections the real counts move to section 0 (extended numbering).
  if (shnum === 0 || shstrndx === SHN_XINDEX) {
    const first = read(shoff, 64);
    if (shnum === 0) shnum = Number(first.readBigUInt64LE(32));
    if (shstrndx === SHN_XINDEX) shstrndx = first.readUInt32LE(40);
  }
  const raw = read(shoff, shnum * shentsize);
  const sections: ElfSection[] = [];
  const nameOffsets: number[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = i * shentsize;
    nameOffsets.push(raw.readUInt32LE(o));
    sections.push({
      name: '',
      type: raw.readUInt32LE(o + 4),
      flags: raw.readBigUInt64LE(o + 8),
      addr: raw.readBigUInt64LE(o + 16),
      offset: raw.readBigUInt64LE(o + 24),
      size: raw.readBigUInt64LE(o + 32),
      link: raw.readUInt32LE(o + 40),
      info: raw.readUInt32LE(o + 44),
      entsize: raw.readBigUInt64LE(o + 56),
    });
  }
  const strs = sections[shstrndx];
  if (strs !== undefined && strs.type !== SHT_NOBITS) {
    const names = read(strs.offset, Number(strs.size));
    sections.forEach((s, i) => (s.name = cString(names, nameOffsets[i] ?? 0)));
  }
  return sections;
}

function readLoads(read: Reader, h: Buffer, sections: ElfSection[]): ElfLoad[] {
  const phoff = h.readBigUInt64LE(0x20);
  const phentsize = h.readUInt16LE(0x36);
  let phnum = h.readUInt16LE(0x38);
  if (phoff === 0n) return [];
  if (phentsize < 56) throw new ElfFormatError(`program header entries of ${phentsize} bytes`);
  if (phnum === 0xffff) phnum = sections[0]?.info ?? 0; // PN_XNUM: the real count is in section 0
  const raw = read(phoff, phnum * phentsize);
  const loads: ElfLoad[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = i * phentsize;
    if (raw.readUInt32LE(o) !== PT_LOAD) continue;
    loads.push({
      flags: raw.readUInt32LE(o + 4),
      offset: raw.readBigUInt64LE(o + 8),
      vaddr: raw.readBigUInt64LE(o + 16),
      filesz: raw.readBigUInt64LE(o + 32),
      memsz: raw.readBigUInt64LE(o + 40),
    });
  }
  return loads;
}

interface Candidate {
  value: bigint;
  /** `value` as a number, for sorting. */
  at: number;
  end: bigint;
  sized: boolean;
  rank: number;
  strtab: Buffer;
  nameOffset: number;
}

function buildSymbolTable(read: Reader, sections: ElfSection[]) {
  const candidates: Candidate[] = [];
  for (const s of sections) {
    if (s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) continue;
    const strSection = sections[s.link];
    if (strSection === undefined || strSection.type === SHT_NOBITS || s.entsize < 24n) continue;
    const syms = read(s.offset, Number(s.size));
    const strtab = read(strSection.offset, Number(strSection.size));
    const entsize = Number(s.entsize);
    for (let o = 0; o + 24 <= syms.length; o += entsize) {
      const info = syms[o + 4] ?? 0;
      const kind = info & 0xf;
      if (kind !== STT_FUNC && kind !== STT_GNU_IFUNC) continue;
      const shndx = syms.readUInt16LE(o + 6);
      // Undefined symbols are imports; reserved indexes (ABS, COMMON, XINDEX) give no section to bound the symbol by.
      if (shndx === 0 || shndx >= SHN_LORESERVE) continue;
      const home = sections[shndx];
      if (home === undefined) continue;
      const value = syms.readBigUInt64LE(o + 8);
      const size = syms.readBigUInt64LE(o + 16);
      const homeEnd = home.addr + home.size;
      if (value < home.addr || value >= homeEnd) continue;
      const nameOffset = syms.readUInt32LE(o);
      if (nameOffset === 0 || nameOffset >= strtab.length) continue;
      candidates.push({
        value,
        at: Number(value),
        // A size-0 symbol (hand-written assembly) is bounded later by the next symbol; its section bounds it now.
        end: size > 0n ? value + size : homeEnd,
        sized: size > 0n,
        rank: -Math.min(leadingUnderscores(strtab, nameOffset), 255) * 4 + bindingRank(info >> 4),
        strtab,
        nameOffset,
      });
    }
  }
  // One name per address: .symtab repeats .dynsym, and libraries alias (weak getpid, global __getpid). Prefer a
  // sized, least-underscored, then global name — the public one, as a person would write it.
  // Comparing numbers instead of bigints makes this sort several times faster; user-space link-time addresses are
  // far below 2^53, and a file where they are not gets the exact comparison.
  const numeric = candidates.every((c) => c.value <= MAX_SAFE);
  candidates.sort(
    numeric
      ? (a, b) => a.at - b.at || better(b, a)
      : (a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : better(b, a)),
  );
  const kept: Candidate[] = [];
  for (const c of candidates) {
    const last = kept[kept.length - 1];
    if (last !== undefined && last.value === c.value) continue;
    kept.push(c);
  }
  // Kept as typed arrays, and names left undecoded in their string tables: a cached node binary then holds its two
  // string tables plus 22 bytes per function, rather than an object and a string per function.
  const count = kept.length;
  const starts = new BigUint64Array(count);
  const ends = new BigUint64Array(count);
  const nameOffsets = new Uint32Array(count);
  const strtabs = [...new Set(kept.map((c) => c.strtab))];
  const strtabOf = new Uint8Array(count);
  const sized = new Uint8Array(count);
  // A plain loop, not a closure over `kept`: a closure would keep every candidate alive as long as `lookup` lives.
  for (let i = 0; i < count; i++) {
    const c = kept[i];
    if (c === undefined) break;
    const next = kept[i + 1];
    starts[i] = c.value;
    ends[i] = !c.sized && next !== undefined && next.value < c.end ? next.value : c.end;
    sized[i] = c.sized ? 1 : 0;
    nameOffsets[i] = c.nameOffset;
    strtabOf[i] = strtabs.indexOf(c.strtab);
  }
  const nameAt = (i: number): string => {
    const strtab = strtabs[strtabOf[i] ?? 0];
    return strtab === undefined ? '' : cString(strtab, nameOffsets[i] ?? 0);
  };

  const lookup = (vaddr: bigint): string | null => {
    // Last symbol starting at or before vaddr.
    let lo = 0;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] ?? 0n) <= vaddr) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0 && i >= lo - NESTED_SCAN; i--) {
      if (vaddr < (ends[i] ?? 0n)) return nameAt(i);
    }
    return null;
  };
  const all = (): ElfSymbol[] =>
    Array.from(starts, (value, i) => ({ name: nameAt(i), value, size: sized[i] === 1 ? (ends[i] ?? value) - value : 0n }));
  return { count, lookup, all };
}

function better(a: Candidate, b: Candidate): number {
  if (a.sized !== b.sized) return a.sized ? 1 : -1;
  return a.rank - b.rank;
}

function bindingRank(binding: number): number {
  if (binding === STB_GLOBAL) return 2;
  if (binding === STB_LOCAL) return 0;
  return 1; // weak and GNU_UNIQUE
}

function leadingUnderscores(buf: Buffer, at: number): number {
  let n = 0;
  while (buf[at + n] === 0x5f) n++;
  return n;
}

function cString(buf: Buffer, at: number): string {
  const end = buf.indexOf(0, at);
  return buf.toString('utf8', at, end < 0 ? buf.length : end);
}
