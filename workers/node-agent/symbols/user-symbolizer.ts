import { closeSync, fstatSync, openSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { ProcessFacts } from '../../../bpf/bpftrace/profile/result.ts';
import { buildIdOf, debugFilePath, hasFullSymbols, withDebugSymbols } from './debug-file.ts';
import { ElfFormatError, PF_X, readElfSymbolsFromFd, type ElfImage } from './elf.ts';
import { defaultPerfMapCache, isRealDirectory, PerfMapRefused, type PerfMap, type PerfMapCache } from './perf-map.ts';
import { findMapping, parseProcMaps, type ProcMapping } from './proc-maps.ts';
import { detectRuntime, effectiveUid, namespacePid, type DetectedRuntime } from './runtime.ts';

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
  /** False when /proc/<pid>/maps could not be read: gone, or not ours to read. */
  alive: boolean;
  mappings: ProcMapping[];
  /** Per mapped file (dev, inode, path); null when unreadable or stripped of everything. */
  images: Map<string, ElfImage | null>;
  /** Read on first need, once per capture: the process's perf map as it stands when the capture has ended. */
  perfMap?: { map: PerfMap | null; problem?: string };
  /** Distinct addresses the perf map named. */
  perfMapNamed: Set<bigint>;
  runtime?: DetectedRuntime | null;
  exe?: string | null;
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
  private readonly perfMaps: PerfMapCache;
  private readonly processes = new Map<number, ProcessState>();

  constructor(opts: { procRoot?: string; cache?: ElfCache; perfMaps?: PerfMapCache } = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.cache = opts.cache ?? defaultElfCache;
    this.perfMaps = opts.perfMaps ?? defaultPerfMapCache;
  }

  /**
   * Function name at `address` in process `pid`, or null; never throws. File-backed code is named from the file's
   * symbol tables; anything else (JIT code lives in anonymous mappings, some already unmapped again by the time
   * the capture ends) from the process's perf map, which also names what a stripped file does not.
   */
  resolve(pid: number, address: bigint): string | null {
    if (!Number.isSafeInteger(pid) || pid <= 0 || address < 0n) return null;
    try {
      const proc = this.process(pid);
      if (!proc.alive) return null;
      const mapping = findMapping(proc.mappings, address);
      if (mapping === null) return this.fromPerfMap(pid, proc, address);
      if (mapping.path === '[vdso]') return '[vdso]';
      const key = `${mapping.dev}:${mapping.inode}:${mapping.path}`;
      let image = proc.images.get(key);
      if (image === undefined) {
        image = this.openImage(pid, mapping);
        proc.images.set(key, image);
      }
      const vaddr = image === null ? null : linkTimeAddress(image, address - mapping.start + mapping.offset);
      return (vaddr === null ? null : image?.lookup(vaddr)) ?? this.fromPerfMap(pid, proc, address);
    } catch {
      return null;
    }
  }

  /**
   * What the agent found of the process: its binary, its runtime, its perf map, and how many addresses the map
   * named so far. Null when the process was gone (or unreadable) by the time the capture ended.
   */
  facts(pid: number): ProcessFacts | null {
    if (!Number.isSafeInteger(pid) || pid <= 0) return null;
    const proc = this.process(pid);
    if (!proc.alive) return null;
    const runtime = this.runtimeOf(pid, proc);
    const perf = this.perfMapOf(pid, proc);
    return {
      exe: proc.exe ?? null,
      runtime: runtime?.runtime ?? null,
      runtimeVersion: runtime?.version ?? null,
      perfMap: perf.problem !== undefined ? 'unusable' : perf.map !== null ? 'read' : runtime ? 'missing' : 'none',
      ...(perf.problem !== undefined ? { perfMapProblem: perf.problem } : {}),
      perfMapEntries: perf.map?.entries ?? 0,
      perfMapFrames: proc.perfMapNamed.size,
    };
  }

  /** The path of the file mapping `address` in process `pid` (as the process names it), or null. */
  moduleOf(pid: number, address: bigint): string | null {
    if (!Number.isSafeInteger(pid) || pid <= 0 || address < 0n) return null;
    return findMapping(this.process(pid).mappings, address)?.path ?? null;
  }

  private fromPerfMap(pid: number, proc: ProcessState, address: bigint): string | null {
    const name = this.perfMapOf(pid, proc).map?.lookup(address) ?? null;
    if (name !== null) proc.perfMapNamed.add(address);
    return name;
  }

  private process(pid: number): ProcessState {
    let proc = this.processes.get(pid);
    if (proc === undefined) {
      let mappings: ProcMapping[] = [];
      let alive = true;
      try {
        mappings = parseProcMaps(readFileSync(join(this.procRoot, String(pid), 'maps'), 'utf8'));
      } catch {
        // Gone already (or not ours to read): every address of it stays unknown for this capture.
        alive = false;
      }
      proc = { alive, mappings, images: new Map(), perfMapNamed: new Set() };
      this.processes.set(pid, proc);
    }
    return proc;
  }

  private runtimeOf(pid: number, proc: ProcessState): DetectedRuntime | null {
    if (proc.runtime === undefined) {
      try {
        // The path the kernel gives for the mapped executable: what a person would recognize, container or not.
        proc.exe = readlinkSync(join(this.procRoot, String(pid), 'exe')).replace(/ \(deleted\)$/, '');
      } catch {
        proc.exe = null;
      }
      proc.runtime = detectRuntime(proc.exe, [...new Set(proc.mappings.map((m) => m.path))]);
    }
    return proc.runtime;
  }

  /**
   * /tmp/perf-<pid>.map as the process sees it: through its root (its mount namespace) and under the pid it has in
   * its own pid namespace. Read once per capture, when first needed, which is after the capture stopped: runtimes
   * append to it while they run.
   */
  private perfMapOf(pid: number, proc: ProcessState): { map: PerfMap | null; problem?: string } {
    if (proc.perfMap === undefined) {
      proc.perfMap = { map: null };
      try {
        const status = readFileSync(join(this.procRoot, String(pid), 'status'), 'utf8');
        const nspid = namespacePid(status);
        const tmp = join(this.procRoot, String(pid), 'root', 'tmp');
        if (nspid !== null && isRealDirectory(tmp)) {
          proc.perfMap = { map: this.perfMaps.load(join(tmp, `perf-${nspid}.map`), effectiveUid(status)) };
        }
      } catch (err) {
        // A map that is there but refused is said so; the process going away meanwhile leaves it unknown.
        if (err instanceof PerfMapRefused) proc.perfMap = { map: null, problem: err.message };
      }
    }
    return proc.perfMap;
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
        const image = this.cache.fromFd(fd, st);
        return image === null || hasFullSymbols(image) ? image : this.withDebugFile(pid, fd, image);
      } catch {
        continue;
      } finally {
        closeSync(fd);
      }
    }
    return null;
  }

  /** A stripped binary's debug file, by build id: in the process's root first (its own packages), then the agent's. */
  private withDebugFile(pid: number, fd: number, image: ElfImage): ElfImage {
    const id = buildIdOf(fd, image);
    if (id === null) return image;
    for (const root of [join(this.procRoot, String(pid), 'root'), '/']) {
      const debug = this.cache.load(join(root, debugFilePath(id)));
      if (debug !== null) return withDebugSymbols(image, debug);
    }
    return image;
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
