import { closeSync, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ElfFormatError, PF_X, readElfSymbolsFromFd, type ElfImage } from './elf.ts';
import { findMapping, parseProcMaps, type ProcMapping } from './proc-maps.ts';

/**
 * Symbol tables by file identity, least recently used evicted. Shared by every capture of an agent: node's table
 * takes a while to read, and most processes of a node map the same libc. Keyed by what stat says rather than by
 * path, so a binary replaced in place (deploys) is read again instead of naming its successor's addresses wrongly.
 */
export class ElfCache {
  private readonly images = new Map<string, ElfImage | null>();
  /** Binaries parsed so far (cache misses); lets tests and metrics see re-reads. */
  reads = 0;

  constructor(readonly capacity = 64) {}

  get size(): number {
    return this.images.size;
  }

  /** Symbols of an open file, or null when it is not an ELF file we can read. `fd` stays open for the caller. */
  fromFd(fd: number, st: Stats = fstatSync(fd)): ElfImage | null {
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    const cached = this.images.get(key);
    if (cached !== undefined || this.images.has(key)) {
      this.images.delete(key);
      this.images.set(key, cached ?? null);
      return cached ?? null;
    }
    this.reads++;
    let image: ElfImage | null;
    try {
      image = readElfSymbolsFromFd(fd);
    } catch (err) {
      // A file that is not ELF (or not one we support) will not become one: remember that. I/O errors may pass.
      if (!(err instanceof ElfFormatError)) return null;
      image = null;
    }
    this.images.set(key, image);
    if (this.images.size > this.capacity) {
      const oldest = this.images.keys().next();
      if (oldest.done !== true) this.images.delete(oldest.value);
    }
    return image;
  }

  /** Symbols of the file at `path`; null when it cannot be opened or parsed. */
  load(path: string): ElfImage | null {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return null;
    }
    try {
      return this.fromFd(fd);
    } catch {
      return null;
    } finally {
      closeSync(fd);
    }
  }
}

/** The agent's cache, shared by all its captures. */
export const defaultElfCache = new ElfCache();

interface ProcessState {
  mappings: ProcMapping[];
  /** Per mapped file (dev, inode, path); null when unreadable or stripped of everything. */
  images: Map<string, ElfImage | null>;
}

/**
 * Names user-space addresses of live processes, the way bpftrace would without its ASLR-unsafe cache: the address
 * goes through the process's own mappings to a file offset, then through the file's PT_LOAD segments to the
 * link-time address its symbol tables use. One instance per capture: a process's maps are read once, on first use,
 * so resolve soon after the capture, while the processes still live.
 */
export class UserSymbolizer {
  private readonly procRoot: string;
  private readonly cache: ElfCache;
  private readonly processes = new Map<number, ProcessState>();

  constructor(opts: { procRoot?: string; cache?: ElfCache } = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.cache = opts.cache ?? defaultElfCache;
  }

  /** Function name at `address` in process `pid`, or null; never throws. */
  resolve(pid: number, address: bigint): string | null {
    if (!Number.isSafeInteger(pid) || pid <= 0 || address < 0n) return null;
    try {
      const proc = this.process(pid);
      const mapping = findMapping(proc.mappings, address);
      if (mapping === null) return null;
      if (mapping.path === '[vdso]') return '[vdso]';
      const key = `${mapping.dev}:${mapping.inode}:${mapping.path}`;
      let image = proc.images.get(key);
      if (image === undefined) {
        image = this.openImage(pid, mapping);
        proc.images.set(key, image);
      }
      if (image === null) return null;
      const vaddr = linkTimeAddress(image, address - mapping.start + mapping.offset);
      return vaddr === null ? null : image.lookup(vaddr);
    } catch {
      return null;
    }
  }

  private process(pid: number): ProcessState {
    let proc = this.processes.get(pid);
    if (proc === undefined) {
      let mappings: ProcMapping[] = [];
      try {
        mappings = parseProcMaps(readFileSync(join(this.procRoot, String(pid), 'maps'), 'utf8'));
      } catch {
        // Gone already (or not ours to read): every address of it stays unknown for this capture.
      }
      proc = { mappings, images: new Map() };
      this.processes.set(pid, proc);
    }
    return proc;
  }

  /**
   * Through the process's root first, so binaries of containers (other mount namespaces) are found; the inode must
   * match what is mapped, since the path may now name a newer file. map_files is the mapped file itself, whatever
   * its path, and covers deleted or replaced binaries, but needs CAP_SYS_ADMIN.
   */
  private openImage(pid: number, mapping: ProcMapping): ElfImage | null {
    const base = join(this.procRoot, String(pid));
    const viaRoot = mapping.deleted ? null : join(base, 'root', mapping.path);
    const viaMapFiles = join(base, 'map_files', `${mapping.start.toString(16)}-${mapping.end.toString(16)}`);
    for (const path of [viaRoot, viaMapFiles]) {
      if (path === null) continue;
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch {
        continue;
      }
      try {
        const st = fstatSync(fd);
        if (path === viaRoot && st.ino !== mapping.inode) continue;
        return this.cache.fromFd(fd, st);
      } catch {
        continue;
      } finally {
        closeSync(fd);
      }
    }
    return null;
  }
}

/** File offset → the address the symbol tables use, through the PT_LOAD segment holding that offset. */
function linkTimeAddress(image: ElfImage, fileOffset: bigint): bigint | null {
  let found = null;
  for (const load of image.loads) {
    if (fileOffset < load.offset || fileOffset >= load.offset + load.filesz) continue;
    found = load;
    // Segments can share a page at their edges; the executable one is where code addresses belong.
    if ((load.flags & PF_X) !== 0) break;
  }
  return found === null ? null : fileOffset - found.offset + found.vaddr;
}
