import { z } from 'zod';
import type { NativeTool } from '../tool.ts';
import { breathe, COLLECTOR_LIMITS, countLines, FocusPids, parseMountinfo, ProcReader, resolveTargets, share, Targets } from './procfs.ts';

export const MountNamespacesParams = z
  .object({
    /** The processes the previous step found failing; their namespaces are always listed and analysed. */
    pids: FocusPids.optional(),
  })
  .strict();
export type MountNamespacesParams = z.output<typeof MountNamespacesParams>;

export const MountNamespace = z.object({
  /** The namespace's inode number (`readlink /proc/<pid>/ns/mnt` → mnt:[ns]). */
  ns: z.number().int(),
  /** The process whose mountinfo was counted. */
  pid: z.number().int(),
  comm: z.string(),
  /** Processes seen in the namespace. */
  processes: z.number().int(),
  mounts: z.number().int(),
  /** mounts / fs.mount-max; null when the kernel has no mount-max. */
  usedShare: z.number().nullable(),
  /** Contains one of the focus processes. */
  focus: z.boolean(),
});
export type MountNamespace = z.infer<typeof MountNamespace>;

export const MountNamespacesResult = z.object({
  /** fs.mount-max: the most mounts one namespace may hold (mount(2) fails with ENOSPC beyond it). */
  mountMax: z.number().int().nullable(),
  totalNamespaces: z.number().int(),
  /** The 20 namespaces with the most mounts, plus every focus namespace; most mounts first. */
  namespaces: z.array(MountNamespace),
  /** Inodes of all namespaces at ≥ 90 % of mount-max, most mounts first. */
  nearLimit: z.array(z.number().int()),
  /** The namespace topRepeated describes: the focus namespace with the most mounts, else the largest one. */
  topRepeatedNs: z.number().int().nullable(),
  /** Mount points mounted more than once there (stacked bind mounts), top 10. */
  topRepeated: z.array(z.object({ mountPoint: z.string(), count: z.number().int() })),
  /** Filesystem sources (device and directory within it) mounted more than once there, top 10. */
  topRepeatedSources: z.array(z.object({ source: z.string(), root: z.string(), count: z.number().int() })),
  targets: Targets,
  /** Why no focus namespace could be used, when that is so. */
  fallback: z.string().nullable(),
});
export type MountNamespacesResult = z.infer<typeof MountNamespacesResult>;

const TOP_NAMESPACES = 20;
const TOP_REPEATED = 10;
const NEAR_LIMIT = 0.9;
const RAW_MOUNTINFO_MAX = 4 * 1024 * 1024;

interface Counted {
  ns: number;
  pids: number[];
  pid: number;
  mounts: number;
  focus: boolean;
}

function repeated<K>(items: K[], key: (k: K) => string): { key: string; item: K; count: number }[] {
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

export const mountNamespaces: NativeTool<typeof MountNamespacesParams, MountNamespacesResult> = {
  kind: 'native',
  name: 'mount-namespaces',
  description: 'Mounts per mount namespace against fs.mount-max, and the mount points repeated in the focus namespace (bind-mount leaks).',
  params: MountNamespacesParams,
  requires: [],
  limits: { ...COLLECTOR_LIMITS },
  result: MountNamespacesResult,
  async run(params, ctx) {
    ctx.signal.throwIfAborted();
    const proc = new ProcReader(ctx.procRoot);
    const mountMax = proc.sysctl('sys/fs/mount-max');
    const targets = resolveTargets(proc, params.pids, ctx);

    // One entry per namespace with every pid in it; focus pids first so they are the ones whose mountinfo is read.
    const byNs = new Map<number, number[]>();
    const focusNs = new Set<number>();
    const all = proc.pids();
    for (const [i, pid] of [...targets.alive, ...all.filter((p) => !targets.alive.includes(p))].entries()) {
      if (i % 256 === 255) await breathe(ctx.signal);
      const ns = proc.ns(pid, 'mnt');
      if (ns === null) continue;
      if (targets.alive.includes(pid)) focusNs.add(ns);
      const list = byNs.get(ns);
      if (list) list.push(pid);
      else byNs.set(ns, [pid]);
    }

    const counted: Counted[] = [];
    const unreadable: number[] = [];
    const texts = new Map<number, string>();
    for (const [i, [ns, pids]] of [...byNs].entries()) {
      if (i % 32 === 31) await breathe(ctx.signal);
      // Any process of the namespace will do (a chrooted one sees fewer mounts; focus pids are read first anyway).
      let found = false;
      for (const pid of pids) {
        const text = proc.text(pid, 'mountinfo');
        if (text === null) continue;
        counted.push({ ns, pids, pid, mounts: countLines(text), focus: focusNs.has(ns) });
        if (focusNs.has(ns)) texts.set(ns, text);
        found = true;
        break;
      }
      if (!found) unreadable.push(ns);
    }
    counted.sort((a, b) => b.mounts - a.mounts || a.ns - b.ns);

    const focusCounted = counted.filter((c) => c.focus);
    const analysed = focusCounted[0] ?? counted[0] ?? null;
    let analysedText = analysed ? (texts.get(analysed.ns) ?? null) : null;
    if (analysed && analysedText === null) analysedText = proc.text(analysed.pid, 'mountinfo');
    const mounts = analysedText === null ? [] : parseMountinfo(analysedText);

    let fallback: string | null = null;
    if (focusCounted.length === 0) {
      const why = targets.requested.length === 0 ? 'no focus process was given' : 'none of the focus processes is running (or readable) any more';
      fallback = `${why}: listing all namespaces; topRepeated describes the namespace with the most mounts`;
    }

    const listed = counted.filter((c, i) => i < TOP_NAMESPACES || c.focus);
    const result: MountNamespacesResult = {
      mountMax,
      totalNamespaces: counted.length,
      namespaces: listed.map((c) => ({
        ns: c.ns,
        pid: c.pid,
        comm: proc.comm(c.pid),
        processes: c.pids.length,
        mounts: c.mounts,
        usedShare: mountMax === null ? null : share(c.mounts, mountMax),
        focus: c.focus,
      })),
      nearLimit: mountMax === null ? [] : counted.filter((c) => c.mounts >= NEAR_LIMIT * mountMax).map((c) => c.ns),
      topRepeatedNs: analysed?.ns ?? null,
      topRepeated: repeated(mounts, (m) => m.mountPoint).map((r) => ({ mountPoint: r.item.mountPoint, count: r.count })),
      topRepeatedSources: repeated(mounts, (m) => `${m.source}\0${m.root}`).map((r) => ({ source: r.item.source, root: r.item.root, count: r.count })),
      targets,
      fallback,
    };
    const raw = {
      procRoot: ctx.procRoot,
      mountMax,
      targets,
      processesScanned: all.length,
      namespaces: counted.map((c) => ({ ns: c.ns, pid: c.pid, mounts: c.mounts, processes: c.pids.length, pids: c.pids.slice(0, 50) })),
      unreadableNamespaces: unreadable,
      topRepeatedNs: analysed?.ns ?? null,
      topRepeatedMountinfo: analysedText === null ? null : analysedText.slice(0, RAW_MOUNTINFO_MAX),
      skippedReads: proc.skipped,
    };
    return { raw: JSON.stringify(raw), rawFile: 'raw.json', result, extraArtifacts: [] };
  },
};
