/**
 * inotify-watches' reader: counts inotify watches and instances per user (user namespace and uid) from every
 * process's fdinfo, against the limits of each user namespace. The manifest declares it; the result is result.ts.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { NativeRun, NativeRunContext } from '../../tool.ts';
import { breathe, Pid, ProcReader, resolveTargets, share } from '../procfs.ts';
import type { InotifyUser, InotifyWatchesResult } from './result.ts';

const TOP_USERS = 20;
const TOP_PROCESSES = 10;
const MAX_FDS_PER_PROCESS = 65_536;
const NSENTER_TIMEOUT_MS = 5_000;
const MAX_NAMESPACES_ENTERED = 64;

interface ProcessUsage {
  pid: number;
  comm: string;
  userns: number;
  uid: number;
  watches: number;
  instances: number;
  focus: boolean;
}

/** Effective uid from /proc/<pid>/status (`Uid: real effective saved fs`). */
function effectiveUid(status: string): number | null {
  const m = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  return m ? Number(m[1]) : null;
}

/**
 * The user namespace's own limits are only visible from inside it: /proc/sys/user/* shows the reader's namespace.
 * --preserve-credentials keeps nsenter from switching to uid 0, which fails where 0 is not mapped; reading the
 * files needs no privilege there.
 */
function readNsLimits(procRoot: string, pid: number, signal: AbortSignal): Promise<{ watches: number; instances: number } | { error: string }> {
  const target = Pid.parse(pid);
  const files = ['sys/user/max_inotify_watches', 'sys/user/max_inotify_instances'].map((f) => join(procRoot, f));
  return new Promise((resolve) => {
    execFile(
      'nsenter',
      ['--user', '--preserve-credentials', '--target', String(target), 'cat', ...files],
      { timeout: NSENTER_TIMEOUT_MS, signal, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const lines = stdout.split('\n').filter((l) => l !== '');
        const [watches, instances] = lines.map(Number);
        if (err || watches === undefined || instances === undefined || !Number.isSafeInteger(watches) || !Number.isSafeInteger(instances)) {
          resolve({ error: (stderr.trim() || err?.message || `unexpected output ${JSON.stringify(stdout)}`).slice(0, 500) });
        } else {
          resolve({ watches, instances });
        }
      },
    );
  });
}

/** What the reader is given: the focus processes (the manifest validates them). */
export interface InotifyWatchesInput {
  pids?: readonly number[];
}

export async function readInotifyWatches(params: InotifyWatchesInput, ctx: NativeRunContext): Promise<NativeRun<InotifyWatchesResult>> {
  ctx.signal.throwIfAborted();
  const proc = new ProcReader(ctx.procRoot);
  const hostLimit = {
    watches: proc.sysctl('sys/user/max_inotify_watches') ?? proc.sysctl('sys/fs/inotify/max_user_watches'),
    instances: proc.sysctl('sys/user/max_inotify_instances') ?? proc.sysctl('sys/fs/inotify/max_user_instances'),
  };
  const ownUserns = proc.ns('self', 'user');
  const targets = resolveTargets(proc, params.pids, ctx);
  const focus = new Set(targets.alive);

  // Every process is scanned even with focus pids: the limit is per user, so another process of the same user
  // may be the one holding the watches.
  const usage: ProcessUsage[] = [];
  const fdTruncated: number[] = [];
  const all = proc.pids();
  for (const [i, pid] of all.entries()) {
    if (i % 64 === 63) await breathe(ctx.signal);
    const fds = proc.dir(pid, 'fd');
    if (fds === null) continue;
    if (fds.length > MAX_FDS_PER_PROCESS) fdTruncated.push(pid);
    let watches = 0;
    let instances = 0;
    for (const fd of fds.slice(0, MAX_FDS_PER_PROCESS)) {
      if (proc.link(pid, `fd/${fd}`) !== 'anon_inode:inotify') continue;
      const info = proc.text(pid, `fdinfo/${fd}`);
      if (info === null) continue;
      instances++;
      for (const line of info.split('\n')) if (line.startsWith('inotify wd:')) watches++;
    }
    if (instances === 0 && !focus.has(pid)) continue;
    const userns = proc.ns(pid, 'user');
    const status = proc.text(pid, 'status');
    const uid = status === null ? null : effectiveUid(status);
    if (userns === null || uid === null) continue;
    usage.push({ pid, comm: proc.comm(pid), userns, uid, watches, instances, focus: focus.has(pid) });
  }

  const byUser = new Map<string, ProcessUsage[]>();
  for (const u of usage) {
    const key = `${u.userns}:${u.uid}`;
    const list = byUser.get(key);
    if (list) list.push(u);
    else byUser.set(key, [u]);
  }
  let groups = [...byUser.values()].map((procs) => ({
    procs,
    first: procs[0] as ProcessUsage,
    watches: procs.reduce((n, p) => n + p.watches, 0),
    instances: procs.reduce((n, p) => n + p.instances, 0),
    focus: procs.some((p) => p.focus),
  }));
  let fallback: string | null = null;
  if (groups.some((g) => g.focus)) {
    groups = groups.filter((g) => g.focus);
  } else {
    const why = targets.requested.length === 0 ? 'no focus process was given' : 'none of the focus processes is running (or readable) any more';
    fallback = `${why}: listing every user holding inotify instances`;
    groups = groups.filter((g) => g.instances > 0);
  }

  // Foreign user namespaces' own limits, read from inside each (one nsenter per namespace, bounded).
  const nsLimits = new Map<number, { watches: number; instances: number } | { error: string }>();
  const foreign = [...new Set(groups.map((g) => g.first.userns))].filter((ns) => ns !== ownUserns);
  for (const ns of foreign.slice(0, MAX_NAMESPACES_ENTERED)) {
    ctx.signal.throwIfAborted();
    const g = groups.find((x) => x.first.userns === ns);
    if (g) nsLimits.set(ns, await readNsLimits(ctx.procRoot, g.procs.find((p) => p.focus)?.pid ?? g.first.pid, ctx.signal));
  }
  ctx.signal.throwIfAborted();

  const users: InotifyUser[] = groups.map((g) => {
    const read = nsLimits.get(g.first.userns);
    const nsLimit = read && !('error' in read) ? read : null;
    const min = (a: number | null | undefined, b: number | null | undefined) =>
      a == null ? (b ?? 0) : b == null ? a : Math.min(a, b);
    const limit = min(nsLimit?.watches, hostLimit.watches);
    const instancesLimit = min(nsLimit?.instances, hostLimit.instances);
    const processes = [...g.procs]
      .sort((a, b) => b.watches - a.watches || b.instances - a.instances || a.pid - b.pid)
      .slice(0, TOP_PROCESSES)
      .map((p) => ({ pid: p.pid, comm: p.comm, watches: p.watches, instances: p.instances, focus: p.focus }));
    return {
      userns: g.first.userns,
      uid: g.first.uid,
      watches: g.watches,
      instances: g.instances,
      nsLimit,
      limit,
      instancesLimit,
      usedShare: share(g.watches, limit),
      instancesUsedShare: share(g.instances, instancesLimit),
      focus: g.focus,
      processes,
      totalProcesses: g.procs.length,
    };
  });
  users.sort((a, b) => b.usedShare - a.usedShare || b.watches - a.watches || a.userns - b.userns || a.uid - b.uid);

  const result: InotifyWatchesResult = { hostLimit, users: users.slice(0, TOP_USERS), totalUsers: users.length, targets, fallback };
  const raw = {
    procRoot: ctx.procRoot,
    hostLimit,
    ownUserns,
    targets,
    processesScanned: all.length,
    processes: usage,
    fdsTruncated: fdTruncated,
    namespaceLimits: Object.fromEntries(nsLimits),
    namespacesNotEntered: foreign.slice(MAX_NAMESPACES_ENTERED),
    skippedReads: proc.skipped,
  };
  return { raw: JSON.stringify(raw), rawFile: 'raw.json', result, extraArtifacts: [] };
}
