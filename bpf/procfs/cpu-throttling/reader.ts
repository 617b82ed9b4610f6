/**
 * cpu-throttling's reader: finds the CPU controller cgroup of each of the target's processes (v1 `cpu`, or v2 with
 * the cpu controller) and the ancestors that set a quota, reads their counters and the processes' CPU time at the
 * start and the end of the window, and leaves the arithmetic to summarize.ts. The manifest declares it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NativeRun, NativeRunContext } from '../../tool.ts';
import { breathe, parseMountinfo, PID_MAX, ProcReader, resolveTargets, type MountEntry } from '../procfs.ts';
import type { CpuHierarchy, CpuThrottlingRaw, CpuThrottlingResult, RawCgroup } from './result.ts';
import { summarizeThrottling } from './summarize.ts';

/** At most this many CPU cgroups are read (leaves and ancestors with a quota together). */
const MAX_CGROUPS = 64;
/** Members listed per cgroup (the busiest are ranked among them). */
const MAX_PROCESSES_PER_CGROUP = 64;
/** Directories walked when looking node-wide for cgroups with a quota. */
const MAX_WALK = 4096;
/**
 * /proc/<pid>/stat counts CPU time in USER_HZ ticks, which the kernel fixes at 100 on every architecture it exports
 * to user space (sysconf(_SC_CLK_TCK)).
 */
const CLOCK_TICKS = 100;

interface Hierarchies {
  /** The v1 mount holding the cpu controller, with its root (non-"/" inside a container's cgroup namespace view). */
  cpuV1: MountEntry | null;
  cpuacctWithCpu: boolean;
  v2: string;
}

/** Where a cgroup's files are: below the v1 cpu mount or the v2 root. */
function dirOf(h: Hierarchies, hierarchy: CpuHierarchy, path: string): string {
  if (hierarchy === 'v2') return join(h.v2, path);
  const m = h.cpuV1!;
  const rel = m.root !== '/' && (path === m.root || path.startsWith(`${m.root}/`)) ? path.slice(m.root.length) : path;
  return join(m.mountPoint, rel);
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (typeof (err as NodeJS.ErrnoException).code === 'string') return null;
    throw err;
  }
}

/** "/a/b/c" → ["/a/b/c", "/a/b", "/a"]: a cgroup and its ancestors below the root. */
function lineage(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, parts.length - i).join('/')}`);
}

const pidsOf = (text: string | null) =>
  (text ?? '').split('\n').filter((l) => /^\d+$/.test(l)).map(Number).filter((p) => p >= 1 && p <= PID_MAX);

/** A process's cgroups from /proc/<pid>/cgroup: its v1 cpu cgroup (when that hierarchy is mounted) and its v2 cgroup. */
function cgroupsOf(text: string | null): { cpuV1: string | null; v2: string | null } {
  let cpuV1: string | null = null;
  let v2: string | null = null;
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') v2 = m[3]!;
    else if (m[2]!.split(',').includes('cpu')) cpuV1 = m[3]!;
  }
  return { cpuV1, v2 };
}

/** Total CPU time of a process (utime + stime, ticks); null when it is gone. */
function ticksOf(proc: ProcReader, pid: number): number | null {
  const stat = proc.text(pid, 'stat');
  if (stat === null) return null;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  return Number.isSafeInteger(utime) && Number.isSafeInteger(stime) ? utime + stime : null;
}

interface Candidate {
  hierarchy: CpuHierarchy;
  path: string;
  leaf: boolean;
  pids: Set<number>;
  targetCgroups: Set<string>;
}

/** What the reader is given: the focus processes (the manifest validates them). */
export interface CpuThrottlingInput {
  pids?: readonly number[];
}

export async function readCpuThrottling(params: CpuThrottlingInput, ctx: NativeRunContext): Promise<NativeRun<CpuThrottlingResult>> {
  ctx.signal.throwIfAborted();
  const proc = new ProcReader(ctx.procRoot);
  const mounts = parseMountinfo(proc.text('self', 'mountinfo') ?? '');
  const cpuV1 = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.split(',').includes('cpu')) ?? null;
  const h: Hierarchies = { cpuV1, cpuacctWithCpu: cpuV1?.superOptions.split(',').includes('cpuacct') ?? false, v2: ctx.cgroupRoot };
  const targets = resolveTargets(proc, params.pids, ctx);

  const found = new Map<string, Candidate>();
  const noCpuController: number[] = [];
  const notRead: string[] = [];
  const add = (hierarchy: CpuHierarchy, path: string, leaf: boolean): Candidate | null => {
    const key = `${hierarchy}:${path}`;
    let c = found.get(key);
    if (!c) {
      if (found.size >= MAX_CGROUPS) {
        if (notRead.length < 100 && !notRead.includes(key)) notRead.push(key);
        return null;
      }
      c = { hierarchy, path, leaf, pids: new Set(), targetCgroups: new Set() };
      found.set(key, c);
    }
    c.leaf ||= leaf;
    return c;
  };
  const hasQuota = (hierarchy: CpuHierarchy, path: string) => {
    const dir = dirOf(h, hierarchy, path);
    if (hierarchy === 'v2') return /^\d+\s/.test(readText(join(dir, 'cpu.max')) ?? '');
    const q = Number((readText(join(dir, 'cpu.cfs_quota_us')) ?? '').trim());
    return Number.isSafeInteger(q) && q > 0;
  };

  let walked = 0;
  let fallback: string | null = null;
  if (targets.alive.length > 0) {
    for (const [i, pid] of targets.alive.entries()) {
      if (i % 64 === 63) await breathe(ctx.signal);
      const cg = cgroupsOf(proc.text(pid, 'cgroup'));
      // v1 cpu where it is mounted (a hybrid host: the v2 hierarchy then has no cpu controller); else the nearest v2
      // cgroup with the cpu controller (cpu.max exists only where the parent delegates cpu).
      let hierarchy: CpuHierarchy | null = null;
      let leafPath: string | null = null;
      if (h.cpuV1 && cg.cpuV1 !== null) {
        hierarchy = 'v1';
        leafPath = cg.cpuV1;
      } else if (cg.v2 !== null) {
        leafPath = lineage(cg.v2).find((p) => readText(join(h.v2, p, 'cpu.max')) !== null) ?? null;
        if (leafPath !== null) hierarchy = 'v2';
      }
      if (hierarchy === null || leafPath === null) {
        noCpuController.push(pid);
        continue;
      }
      const leaf = add(hierarchy, leafPath, true);
      leaf?.pids.add(pid);
      if (cg.v2 !== null) leaf?.targetCgroups.add(cg.v2);
      // A quota higher up (a pod's, above its containers') throttles the processes below it just the same.
      for (const up of lineage(leafPath).slice(1)) {
        if (!hasQuota(hierarchy, up)) continue;
        const c = add(hierarchy, up, false);
        c?.pids.add(pid);
        if (cg.v2 !== null) c?.targetCgroups.add(cg.v2);
      }
    }
  } else {
    // Nothing to follow: every cgroup of the CPU hierarchy that sets a quota, node-wide.
    const why = targets.requested.length === 0 && targets.cgroups.length === 0 ? 'no focus process was given' : 'no process of the target is running (or readable)';
    fallback = `${why}: listing every cgroup with a CPU quota on the node`;
    const hierarchy: CpuHierarchy | null = h.cpuV1 ? 'v1' : /\bcpu\b/.test(readText(join(h.v2, 'cgroup.controllers')) ?? '') ? 'v2' : null;
    const queue = hierarchy ? ['/'] : [];
    while (queue.length > 0 && walked < MAX_WALK) {
      const path = queue.shift()!;
      walked++;
      if (walked % 256 === 0) await breathe(ctx.signal);
      let entries: string[];
      try {
        entries = readdirSync(dirOf(h, hierarchy!, path), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
      } catch {
        continue; // removed while walking
      }
      for (const e of entries) queue.push(path === '/' ? `/${e}` : `${path}/${e}`);
      if (path !== '/' && hasQuota(hierarchy!, path)) add(hierarchy!, path, true);
    }
  }

  // Each cgroup's own members too: a throttled cgroup's busiest process need not be one the target named.
  for (const c of found.values()) {
    for (const pid of pidsOf(readText(join(dirOf(h, c.hierarchy, c.path), 'cgroup.procs')))) {
      if (c.pids.size >= MAX_PROCESSES_PER_CGROUP) break;
      c.pids.add(pid);
    }
  }
  const candidates = [...found.values()];
  const allPids = [...new Set(candidates.flatMap((c) => [...c.pids]))].sort((a, b) => a - b);
  for (const c of candidates) {
    if (c.targetCgroups.size > 0 || c.pids.size === 0) continue;
    for (const pid of [...c.pids].slice(0, 8)) {
      const v2 = cgroupsOf(proc.text(pid, 'cgroup')).v2;
      if (v2 !== null) c.targetCgroups.add(v2);
    }
  }

  const readCgroup = (c: Candidate) => {
    const dir = dirOf(h, c.hierarchy, c.path);
    const cpuStat = readText(join(dir, 'cpu.stat'));
    let usageUs: number | null = null;
    if (c.hierarchy === 'v2') {
      const m = /^usage_usec (\d+)$/m.exec(cpuStat ?? '');
      usageUs = m ? Number(m[1]) : null;
    } else if (h.cpuacctWithCpu) {
      const ns = Number((readText(join(dir, 'cpuacct.usage')) ?? '').trim());
      usageUs = Number.isSafeInteger(ns) && ns >= 0 ? ns / 1000 : null;
    }
    return { cpuStat, usageUs };
  };
  const readTicks = () => new Map(allPids.map((pid) => [pid, ticksOf(proc, pid)]));

  const comms = new Map(allPids.map((pid) => [pid, proc.comm(pid)]));
  const t0 = performance.now();
  const before = candidates.map(readCgroup);
  const ticksBefore = readTicks();
  await sleep(ctx.durationMs, undefined, { signal: ctx.signal });
  const after = candidates.map(readCgroup);
  const ticksAfter = readTicks();
  const windowUs = Math.round((performance.now() - t0) * 1000);

  const cgroups: RawCgroup[] = candidates.map((c, i) => {
    const dir = dirOf(h, c.hierarchy, c.path);
    const quota = readText(join(dir, c.hierarchy === 'v2' ? 'cpu.max' : 'cpu.cfs_quota_us'))?.trim() ?? null;
    const period = c.hierarchy === 'v1' ? (readText(join(dir, 'cpu.cfs_period_us'))?.trim() ?? null) : null;
    return {
      hierarchy: c.hierarchy,
      path: c.path,
      dir,
      leaf: c.leaf,
      quota,
      period,
      before: before[i]!,
      after: after[i]!,
      pids: [...c.pids].sort((a, b) => a - b),
      totalPids: c.pids.size,
      targetCgroups: [...c.targetCgroups].sort(),
    };
  });
  const raw: CpuThrottlingRaw = {
    windowUs,
    clockTicks: CLOCK_TICKS,
    mounts: { cpuV1: h.cpuV1?.mountPoint ?? null, cpuacctWithCpu: h.cpuacctWithCpu, v2: h.v2 },
    cgroups,
    processes: allPids.map((pid) => ({ pid, comm: comms.get(pid) ?? '?', ticksBefore: ticksBefore.get(pid) ?? null, ticksAfter: ticksAfter.get(pid) ?? null })),
    noCpuController,
    notRead,
    walked,
    targets,
    fallback,
    skippedReads: proc.skipped,
  };
  return { raw: JSON.stringify(raw), rawFile: 'raw.json', result: summarizeThrottling(raw), extraArtifacts: [] };
}
