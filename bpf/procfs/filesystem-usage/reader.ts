/**
 * filesystem-usage's reader: measures the filesystems the focus processes see (statfs through /proc/<pid>/root) and
 * locates the files a syscall failed on. The manifest (manifest.ts) declares it; the result's schema is result.ts.
 */
import { stat, statfs } from 'node:fs/promises';
import { z } from 'zod';
import type { NativeRun, NativeRunContext } from '../../tool.ts';
import {
  breathe,
  parseMountinfo,
  Pid,
  ProcReader,
  resolveTargets,
  share,
  type MountEntry,
  type PidRef,
} from '../procfs.ts';
import type { FilesystemEntry, FilesystemUsageResult } from './result.ts';

/** Longest path Linux accepts (PATH_MAX, with its terminating NUL). */
const PATH_MAX = 4096;
/** At most this many failing files are located, and listed per filesystem. */
export const MAX_FILES = 64;
const MAX_FILES_PER_FILESYSTEM = 10;

/**
 * A file a syscall failed on, as the previous step resolved it (`/proc/<pid>/fd/<fd>`): absolute, as seen by that
 * process. It comes from a capture, never from a user, but it is validated like any input.
 */
export const FileToLocate = z
  .object({
    pid: Pid,
    path: z
      .string()
      .max(PATH_MAX)
      .regex(/^\/[^\0]*$/, 'an absolute path without NUL'),
  })
  .strict();
export type FileToLocate = z.infer<typeof FileToLocate>;

/** Filesystems without space of their own to run out of. */
export const PSEUDO_FILESYSTEMS: ReadonlySet<string> = new Set([
  'proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'mqueue', 'tracefs', 'debugfs', 'securityfs', 'bpf', 'pstore',
  'configfs', 'fusectl', 'hugetlbfs', 'autofs', 'binfmt_misc', 'nsfs', 'efivarfs', 'selinuxfs', 'rpc_pipefs', 'nfsd',
]);

const MAX_LISTED = 50;
const MAX_FDS_PER_PROCESS = 65_536;
const STAT_TIMEOUT_MS = 3_000;
const STAT_CONCURRENCY = 8;
const HOST_NEAR_FULL = 0.95;
const RAW_TEXT_MAX = 1024 * 1024;

/** glibc's dev_t encoding, as Node's stat returns it, to the "major:minor" mountinfo prints. */
export function devString(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** The mount a path lives on: longest mount-point prefix; of mounts stacked on one point, the last (topmost). */
export function mountOf(path: string, mounts: readonly MountEntry[]): MountEntry | null {
  let best: MountEntry | null = null;
  for (const m of mounts) {
    const mp = m.mountPoint;
    const under = mp === '/' || path === mp || path.startsWith(`${mp}/`);
    if (under && (best === null || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** Where each failing file was found: its process's namespace and the mount it lives on, or why not. */
export type LocatedFile = FileToLocate & ({ ns: number; mountPoint: string; dev: string } | { ns: number | null; outcome: string });

/**
 * Locates each failing file in its own process's mount namespace (`nsOf`; null when the process is gone) over that
 * namespace's mountinfo. Gives the paths per device (as given, deduplicated, at most 10 each) and every outcome.
 */
export function locateFiles(
  files: readonly FileToLocate[],
  nsOf: (pid: number) => number | null,
  namespaces: readonly { ns: number; mounts: readonly MountEntry[] }[],
): { byDev: Map<string, string[]>; located: LocatedFile[] } {
  const byDev = new Map<string, string[]>();
  const located: LocatedFile[] = [];
  for (const file of files) {
    const ns = nsOf(file.pid);
    const space = namespaces.find((n) => n.ns === ns);
    // A descriptor of a file unlinked since reads "<path> (deleted)": it was on the filesystem of <path>.
    const m = space ? mountOf(file.path.replace(/ \(deleted\)$/, ''), space.mounts) : null;
    if (ns === null || !m) {
      located.push({ ...file, ns, outcome: ns === null ? 'process gone' : space ? 'no mount' : 'namespace unreadable' });
      continue;
    }
    located.push({ ...file, ns, mountPoint: m.mountPoint, dev: m.dev });
    const paths = byDev.get(m.dev) ?? [];
    if (!paths.includes(file.path) && paths.length < MAX_FILES_PER_FILESYSTEM) paths.push(file.path);
    byDev.set(m.dev, paths);
  }
  return { byDev, located };
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The listing order: what the failing syscalls hit first (a full filesystem a failing file is on, then any full
 * one, then one a failing file is on, e.g. read-only for EROFS), then what the focus processes use, then the fullest.
 */
export function compareFilesystems(a: FilesystemEntry, b: FilesystemEntry): number {
  const failing = (e: FilesystemEntry) => e.failingFiles.length > 0;
  return (
    Number(b.full && failing(b)) - Number(a.full && failing(a)) ||
    Number(b.full) - Number(a.full) ||
    Number(failing(b)) - Number(failing(a)) ||
    Number(b.openedByFocus) - Number(a.openedByFocus) ||
    b.usedShare - a.usedShare ||
    (b.inodesUsedShare ?? 0) - (a.inodesUsedShare ?? 0) ||
    byName(a.mountPoint, b.mountPoint)
  );
}

function isReadOnly(m: MountEntry): boolean {
  return m.options.split(',').includes('ro') || m.superOptions.split(',').includes('ro');
}

async function timed<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

interface Namespace {
  ns: number;
  pid: PidRef;
  mounts: MountEntry[];
  text: string;
}

interface Device {
  dev: string;
  ns: Namespace;
  /** The device's mounts in that namespace, best to measure through first. */
  candidates: MountEntry[];
}

type Measured = {
  device: Device;
  mount: MountEntry;
  sizeBytes: number;
  usedBytes: number;
  availBytes: number;
  bsize: number;
  inodesTotal: number;
  inodesFree: number;
};

/** What the reader is given: the focus processes and the files a syscall failed on (the manifest validates both). */
export interface FilesystemUsageInput {
  pids?: readonly number[];
  files?: readonly FileToLocate[];
}

export async function readFilesystemUsage(params: FilesystemUsageInput, ctx: NativeRunContext): Promise<NativeRun<FilesystemUsageResult>> {
  ctx.signal.throwIfAborted();
  const proc = new ProcReader(ctx.procRoot);
  const targets = resolveTargets(proc, params.pids, ctx);

  // The focus processes' mount namespaces; without any, the host's: pid 1's, or the agent's own where pid 1
  // cannot be inspected (a sandboxed init).
  let fallback: string | null = null;
  const groups = new Map<number, PidRef[]>();
  const addTo = (pid: PidRef): boolean => {
    const ns = proc.ns(pid, 'mnt');
    if (ns === null) return false;
    groups.set(ns, [...(groups.get(ns) ?? []), pid]);
    return true;
  };
  for (const pid of targets.alive) addTo(pid);
  if (groups.size === 0) {
    const why = targets.requested.length === 0 ? 'no focus process was given' : 'none of the focus processes is running (or readable) any more';
    const host = addTo(1) ? 'pid 1' : addTo('self') ? 'the agent (pid 1 cannot be read)' : null;
    fallback = `${why}: showing the host's filesystems (${host ?? 'none readable'}) that are full or at least ${HOST_NEAR_FULL * 100} % used`;
  }
  // A failing file's path means something only in its own process's namespace: measure that namespace too.
  const failing = params.files ?? [];
  for (const file of failing) {
    const ns = proc.ns(file.pid, 'mnt');
    if (ns !== null && !groups.get(ns)?.includes(file.pid)) groups.set(ns, [...(groups.get(ns) ?? []), file.pid]);
  }

  const namespaces: Namespace[] = [];
  for (const [ns, pids] of groups) {
    for (const pid of pids) {
      const text = proc.text(pid, 'mountinfo');
      if (text === null) continue;
      namespaces.push({ ns, pid, mounts: parseMountinfo(text), text });
      break;
    }
  }

  const { byDev: failingByDev, located } = locateFiles(failing, (pid) => proc.ns(pid, 'mnt'), namespaces);

  // Which mounts the focus processes have files (and their working directory) on.
  const openedBy = new Map<string, Set<number>>();
  const files: Record<string, string[]> = {};
  for (const [i, pid] of targets.alive.entries()) {
    if (i % 8 === 7) await breathe(ctx.signal);
    const ns = proc.ns(pid, 'mnt');
    const space = namespaces.find((n) => n.ns === ns);
    if (!space) continue;
    const links = (proc.dir(pid, 'fd') ?? []).slice(0, MAX_FDS_PER_PROCESS).map((fd) => proc.link(pid, `fd/${fd}`));
    links.push(proc.link(pid, 'cwd'));
    const paths = links.filter((l): l is string => l !== null && l.startsWith('/')).map((l) => l.replace(/ \(deleted\)$/, ''));
    files[pid] = paths.slice(0, 1000);
    for (const path of paths) {
      const m = mountOf(path, space.mounts);
      if (m === null) continue;
      const set = openedBy.get(m.dev) ?? new Set<number>();
      set.add(pid);
      openedBy.set(m.dev, set);
    }
  }

  // One measurement per device, through the first namespace it was seen in.
  const devices = new Map<string, Device>();
  for (const space of namespaces) {
    for (const m of space.mounts) {
      if (PSEUDO_FILESYSTEMS.has(m.fsType)) continue;
      const d = devices.get(m.dev);
      if (!d) devices.set(m.dev, { dev: m.dev, ns: space, candidates: [m] });
      else if (d.ns === space) d.candidates.push(m);
    }
  }
  for (const d of devices.values()) {
    // The whole filesystem rather than a bind-mounted subdirectory, then the shortest path.
    d.candidates.sort((a, b) => Number(b.root === '/') - Number(a.root === '/') || a.mountPoint.length - b.mountPoint.length);
  }

  const measured: Measured[] = [];
  const unmeasured: FilesystemUsageResult['unmeasured'] = [];
  const readings: unknown[] = [];
  await pool([...devices.values()], STAT_CONCURRENCY, async (device) => {
    const devsHere = new Set(device.ns.mounts.map((m) => m.dev));
    let reason = 'shadowed';
    for (const mount of device.candidates) {
      ctx.signal.throwIfAborted();
      // Through the process's root: container filesystems measured from the host, in the container's view.
      const path = proc.path(device.ns.pid, 'root') + (mount.mountPoint === '/' ? '/' : mount.mountPoint);
      const got = await timed(
        Promise.all([stat(path, { bigint: true }), statfs(path, { bigint: true })]).catch((err: NodeJS.ErrnoException) => err),
        STAT_TIMEOUT_MS,
      );
      if (got === 'timeout' || got instanceof Error) {
        reason = got === 'timeout' ? 'timeout' : (got.code ?? got.message);
        readings.push({ dev: device.dev, path, outcome: reason });
        if (got === 'timeout') break; // the next mount of a hung filesystem hangs too
        continue;
      }
      const [st, fs] = got;
      const seen = devString(st.dev);
      // Another mount stacked on this mount point hides it: what the path reaches is that other filesystem.
      if (seen !== device.dev && devsHere.has(seen)) {
        readings.push({ dev: device.dev, path, outcome: `shadowed by ${seen}` });
        continue;
      }
      const n = (v: bigint) => Number(v);
      readings.push({
        dev: device.dev,
        path,
        outcome: 'measured',
        statDev: seen,
        statfs: { type: n(fs.type), bsize: n(fs.bsize), blocks: n(fs.blocks), bfree: n(fs.bfree), bavail: n(fs.bavail), files: n(fs.files), ffree: n(fs.ffree) },
      });
      measured.push({
        device,
        mount,
        sizeBytes: n(fs.blocks * fs.bsize),
        usedBytes: n((fs.blocks - fs.bfree) * fs.bsize),
        availBytes: n(fs.bavail * fs.bsize),
        bsize: n(fs.bsize),
        inodesTotal: n(fs.files),
        inodesFree: n(fs.ffree),
      });
      return;
    }
    const m = device.candidates[0];
    // A process that exited meanwhile is not a filesystem problem.
    if (m && reason !== 'ENOENT' && reason !== 'ESRCH' && reason !== 'shadowed') {
      unmeasured.push({ mountPoint: m.mountPoint, fsType: m.fsType, source: m.source, reason });
    }
  });
  ctx.signal.throwIfAborted();

  let entries: FilesystemEntry[] = measured.map((x) => {
    const readOnly = isReadOnly(x.mount);
    const pids = [...(openedBy.get(x.device.dev) ?? [])].sort((a, b) => a - b);
    const noInodes = x.inodesTotal > 0 && x.inodesFree === 0;
    return {
      mountPoint: x.mount.mountPoint,
      fsType: x.mount.fsType,
      source: x.mount.source,
      mountNs: x.device.ns.ns,
      dev: x.device.dev,
      sizeBytes: x.sizeBytes,
      usedBytes: x.usedBytes,
      availBytes: x.availBytes,
      usedShare: share(x.usedBytes, x.usedBytes + x.availBytes),
      inodes: { total: x.inodesTotal, free: x.inodesFree },
      inodesUsedShare: x.inodesTotal > 0 ? share(x.inodesTotal - x.inodesFree, x.inodesTotal) : null,
      readOnly,
      full: !readOnly && x.sizeBytes > 0 && (x.availBytes < 0.01 * x.sizeBytes || x.availBytes < x.bsize || noInodes),
      openedByFocus: pids.length > 0,
      pids,
      failingFiles: failingByDev.get(x.device.dev) ?? [],
    };
  });
  if (fallback !== null) entries = entries.filter((e) => e.full || e.failingFiles.length > 0 || (!e.readOnly && e.usedShare >= HOST_NEAR_FULL));
  entries.sort(compareFilesystems);
  unmeasured.sort((a, b) => byName(a.mountPoint, b.mountPoint));

  const result: FilesystemUsageResult = { filesystems: entries.slice(0, MAX_LISTED), totalFilesystems: entries.length, unmeasured, targets, fallback };
  const raw = {
    procRoot: ctx.procRoot,
    targets,
    namespaces: namespaces.map((n) => ({ ns: n.ns, pid: n.pid, mountinfo: n.text.slice(0, RAW_TEXT_MAX) })),
    files,
    failingFiles: located,
    measurements: readings,
    skippedReads: proc.skipped,
  };
  return { raw: JSON.stringify(raw), rawFile: 'raw.json', result, extraArtifacts: [] };
}
