/**
 * mount-namespaces' reader: counts the mounts of every mount namespace against fs.mount-max and, for the
 * namespaces that matter, the mount points and sources mounted more than once. The manifest declares it.
 */
import type { NativeRun, NativeRunContext } from '../../tool.ts';
import { breathe, countLines, parseMountinfo, ProcReader, resolveTargets, share, type MountEntry } from '../procfs.ts';
import type { MountNamespace, MountNamespacesResult } from './result.ts';

const TOP_NAMESPACES = 20;
const TOP_REPEATED = 10;
const MAX_FOCUS_PIDS = 20;
const NEAR_LIMIT = 0.9;
/** Raw keeps each analysed namespace's mountinfo up to this size, and all of them together up to the total. */
const RAW_MOUNTINFO_MAX = 4 * 1024 * 1024;
const RAW_MOUNTINFO_TOTAL = 12 * 1024 * 1024;

/** One namespace as counted: every pid seen in it (focus pids first, ascending), and whose mountinfo was read. */
export interface CountedNamespace {
  ns: number;
  pids: number[];
  /** The focus pids in it, ascending (all of them; the result lists at most 20). */
  focusPids: number[];
  /** The pid whose mountinfo was counted. */
  readPid: number;
  mounts: number;
}

export function isNearLimit(mounts: number, mountMax: number | null): boolean {
  return mountMax !== null && mounts >= NEAR_LIMIT * mountMax;
}

function topRepeated<K>(items: readonly K[], key: (k: K) => string): { item: K; count: number }[] {
  const counts = new Map<string, { key: string; item: K; count: number }>();
  for (const item of items) {
    const k = key(item);
    const c = counts.get(k);
    if (c) c.count++;
    else counts.set(k, { key: k, item, count: 1 });
  }
  return [...counts.values()]
    .filter((c) => c.count > 1)
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, TOP_REPEATED);
}

/** The mount points and sources of one namespace's mounts that are mounted more than once, top 10 each. */
export function repeatedMounts(mounts: readonly MountEntry[]): Pick<MountNamespace, 'repeated' | 'repeatedSources'> {
  return {
    repeated: topRepeated(mounts, (m) => m.mountPoint).map((r) => ({ mountPoint: r.item.mountPoint, count: r.count })),
    repeatedSources: topRepeated(mounts, (m) => `${m.source}\0${m.root}`).map((r) => ({ source: r.item.source, root: r.item.root, count: r.count })),
  };
}

/**
 * Which namespaces are listed, in order: every focus namespace and the 20 with the most mounts; focus ones first so
 * `namespaces[0]` is the target's when it has one, then most mounts, then inode.
 */
export function listNamespaces<C extends Pick<CountedNamespace, 'ns' | 'focusPids' | 'mounts'>>(counted: readonly C[]): C[] {
  const byMounts = [...counted].sort((a, b) => b.mounts - a.mounts || a.ns - b.ns);
  const listed = byMounts.filter((c, i) => i < TOP_NAMESPACES || c.focusPids.length > 0);
  return listed.sort((a, b) => Number(b.focusPids.length > 0) - Number(a.focusPids.length > 0));
}

/**
 * Whether a listed namespace's mountinfo is parsed for repeated mounts: a focus namespace, one near the limit, or
 * (with no focus namespace at all) the one with the most mounts. The others get empty lists: parsing every
 * namespace of a busy node (thousands of containers, some with 100 000 mounts) would be unbounded work for facts
 * no finding uses.
 */
export function wantsAnalysis(c: Pick<CountedNamespace, 'focusPids' | 'mounts'>, mountMax: number | null, largestWithoutFocus: boolean): boolean {
  return c.focusPids.length > 0 || isNearLimit(c.mounts, mountMax) || largestWithoutFocus;
}

/** One result entry. `named` is the pid the entry names (a focus pid when there is one); `mountinfo` null when not analysed. */
export function describeNamespace(c: CountedNamespace, mountMax: number | null, named: { pid: number; comm: string }, mountinfo: string | null): MountNamespace {
  return {
    ns: c.ns,
    pid: named.pid,
    comm: named.comm,
    processes: c.pids.length,
    mounts: c.mounts,
    usedShare: mountMax === null ? null : share(c.mounts, mountMax),
    nearLimit: isNearLimit(c.mounts, mountMax),
    focus: c.focusPids.length > 0,
    focusPids: c.focusPids.slice(0, MAX_FOCUS_PIDS),
    ...(mountinfo === null ? { repeated: [], repeatedSources: [] } : repeatedMounts(parseMountinfo(mountinfo))),
  };
}

/** What the reader is given: the focus processes (the manifest validates them). */
export interface MountNamespacesInput {
  pids?: readonly number[];
}

export async function readMountNamespaces(params: MountNamespacesInput, ctx: NativeRunContext): Promise<NativeRun<MountNamespacesResult>> {
  ctx.signal.throwIfAborted();
  const proc = new ProcReader(ctx.procRoot);
  const mountMax = proc.sysctl('sys/fs/mount-max');
  const targets = resolveTargets(proc, params.pids, ctx);
  const focusSet = new Set(targets.alive);

  // One entry per namespace with every pid in it; focus pids first (ascending) so they are the ones whose
  // mountinfo is read and named.
  const byNs = new Map<number, number[]>();
  const all = proc.pids();
  for (const [i, pid] of [...targets.alive, ...all.filter((p) => !focusSet.has(p))].entries()) {
    if (i % 256 === 255) await breathe(ctx.signal);
    const ns = proc.ns(pid, 'mnt');
    if (ns === null) continue;
    const list = byNs.get(ns);
    if (list) list.push(pid);
    else byNs.set(ns, [pid]);
  }

  const counted: CountedNamespace[] = [];
  const unreadable: number[] = [];
  // Focus namespaces' mountinfo is kept from the count (they are always analysed, at most 64 of them).
  const texts = new Map<number, string>();
  for (const [i, [ns, pids]] of [...byNs].entries()) {
    if (i % 32 === 31) await breathe(ctx.signal);
    const focusPids = pids.filter((p) => focusSet.has(p));
    // Any process of the namespace will do (a chrooted one sees fewer mounts; focus pids are read first anyway).
    let found = false;
    for (const pid of pids) {
      const text = proc.text(pid, 'mountinfo');
      if (text === null) continue;
      counted.push({ ns, pids, focusPids, readPid: pid, mounts: countLines(text) });
      if (focusPids.length > 0) texts.set(ns, text);
      found = true;
      break;
    }
    if (!found) unreadable.push(ns);
  }

  const listed = listNamespaces(counted);
  const hasFocus = listed.some((c) => c.focusPids.length > 0);
  const largest = hasFocus ? null : (listed[0] ?? null);

  let fallback: string | null = null;
  if (!hasFocus) {
    const why = targets.requested.length === 0 ? 'no focus process was given' : 'none of the focus processes is running (or readable) any more';
    fallback = `${why}: listing all namespaces; repeated mounts are given for those near fs.mount-max and the one with the most mounts`;
  }

  const analysed: { ns: number; pid: number; mountinfo: string | null; complete: boolean }[] = [];
  let rawBudget = RAW_MOUNTINFO_TOTAL;
  const namespaces: MountNamespace[] = [];
  for (const [i, c] of listed.entries()) {
    if (i % 8 === 7) await breathe(ctx.signal);
    let text: string | null = null;
    if (wantsAnalysis(c, mountMax, c === largest)) {
      // Read again for a namespace not kept from the count: its mounts may have changed in between; raw keeps what was parsed.
      text = texts.get(c.ns) ?? proc.text(c.readPid, 'mountinfo');
      const kept = text === null ? null : text.slice(0, Math.min(RAW_MOUNTINFO_MAX, rawBudget));
      rawBudget -= kept?.length ?? 0;
      analysed.push({ ns: c.ns, pid: c.readPid, mountinfo: kept, complete: text !== null && kept?.length === text.length });
    }
    // Name a focus process: the one whose mountinfo was read when it is one, else the first (its own read failed).
    const pid = c.focusPids.includes(c.readPid) ? c.readPid : (c.focusPids[0] ?? c.readPid);
    namespaces.push(describeNamespace(c, mountMax, { pid, comm: proc.comm(pid) }, text));
  }

  const result: MountNamespacesResult = {
    mountMax,
    totalNamespaces: counted.length,
    namespaces,
    nearLimitNamespaces: [...counted]
      .filter((c) => isNearLimit(c.mounts, mountMax))
      .sort((a, b) => b.mounts - a.mounts || a.ns - b.ns)
      .map((c) => c.ns),
    targets,
    fallback,
  };
  const raw = {
    procRoot: ctx.procRoot,
    mountMax,
    targets,
    processesScanned: all.length,
    namespaces: counted.map((c) => ({ ns: c.ns, mountinfoPid: c.readPid, mounts: c.mounts, processes: c.pids.length, focusPids: c.focusPids, pids: c.pids.slice(0, 50) })),
    unreadableNamespaces: unreadable,
    // The mountinfo each listed entry's repeated mounts were computed from (null: it could not be read again).
    analysed,
    skippedReads: proc.skipped,
  };
  return { raw: JSON.stringify(raw), rawFile: 'raw.json', result, extraArtifacts: [] };
}
