/**
 * cpu-throttling's readings → its result: deltas of each CPU controller cgroup's counters over the window, the quota
 * as CPUs, usage against it, the busiest processes. Pure, so a recorded raw.json gives the same result anywhere.
 */
import { share } from '../procfs.ts';
import type { CpuThrottlingRaw, CpuThrottlingResult, RawCgroup, ThrottledCgroup, ThrottledProcess } from './result.ts';

const TOP_CGROUPS = 20;
const TOP_PROCESSES = 10;

/** `key value` lines of cpu.stat → numbers (missing keys are absent). */
export function parseCpuStat(text: string | null): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\w+) (\d+)$/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** v1: cfs_quota_us (-1: none) and cfs_period_us; v2: cpu.max "<quota|max> <period>". Null when no quota is set. */
export function parseQuota(c: Pick<RawCgroup, 'hierarchy' | 'quota' | 'period'>): { quotaUs: number; periodUs: number; cpus: number } | null {
  let quotaUs: number;
  let periodUs: number;
  if (c.hierarchy === 'v2') {
    const m = /^(max|\d+)\s+(\d+)\s*$/.exec(c.quota ?? '');
    if (!m || m[1] === 'max') return null;
    quotaUs = Number(m[1]);
    periodUs = Number(m[2]);
  } else {
    quotaUs = Number((c.quota ?? '').trim());
    periodUs = Number((c.period ?? '').trim());
  }
  if (!Number.isSafeInteger(quotaUs) || quotaUs <= 0 || !Number.isSafeInteger(periodUs) || periodUs <= 0) return null;
  return { quotaUs, periodUs, cpus: Math.round((quotaUs / periodUs) * 1000) / 1000 };
}

const delta = (after: Map<string, number>, before: Map<string, number>, key: string) =>
  Math.max(0, (after.get(key) ?? 0) - (before.get(key) ?? 0));

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

export function summarizeThrottling(raw: CpuThrottlingRaw): CpuThrottlingResult {
  const windowUs = Math.max(raw.windowUs, 1);
  const procs = new Map(raw.processes.map((p) => [p.pid, p]));
  const usOfTicks = (ticks: number) => (ticks * 1_000_000) / raw.clockTicks;

  const cgroups: ThrottledCgroup[] = raw.cgroups.map((c) => {
    const before = parseCpuStat(c.before.cpuStat);
    const after = parseCpuStat(c.after.cpuStat);
    const quota = parseQuota(c);
    const periods = delta(after, before, 'nr_periods');
    const throttledPeriods = delta(after, before, 'nr_throttled');
    // v1 counts throttled time in ns, v2 in µs.
    const throttledUs = c.hierarchy === 'v1' ? delta(after, before, 'throttled_time') / 1000 : delta(after, before, 'throttled_usec');

    const processes: ThrottledProcess[] = c.pids.flatMap((pid) => {
      const p = procs.get(pid);
      if (!p || p.ticksAfter === null) return [];
      const cpuUs = usOfTicks(Math.max(0, p.ticksAfter - (p.ticksBefore ?? 0)));
      return [{ pid, comm: p.comm, cpuUs: Math.round(cpuUs), cpus: round(cpuUs / windowUs, 3), share: 0 }];
    });
    const processUs = processes.reduce((n, p) => n + p.cpuUs, 0);
    for (const p of processes) p.share = share(p.cpuUs, processUs);
    processes.sort((a, b) => b.cpuUs - a.cpuUs || a.pid - b.pid);

    const own = c.before.usageUs !== null && c.after.usageUs !== null ? Math.max(0, c.after.usageUs - c.before.usageUs) : null;
    const usageUs = own ?? (processes.length > 0 ? processUs : null);
    const usageCpus = usageUs === null ? null : round(usageUs / windowUs, 3);
    return {
      hierarchy: c.hierarchy,
      path: c.path,
      dir: c.dir,
      leaf: c.leaf,
      targetCgroups: c.targetCgroups,
      quota,
      periods,
      throttledPeriods,
      throttledShare: share(throttledPeriods, periods),
      throttledUs: Math.round(throttledUs),
      usageUs: usageUs === null ? null : Math.round(usageUs),
      usageCpus,
      usageOfQuota: usageCpus === null || quota === null ? null : round(usageCpus / quota.cpus, 3),
      usageSource: own !== null ? 'cgroup' : usageUs !== null ? 'processes' : null,
      processes: processes.slice(0, TOP_PROCESSES),
      totalProcesses: c.totalPids,
    };
  });
  cgroups.sort(
    (a, b) =>
      b.throttledShare - a.throttledShare ||
      b.throttledUs - a.throttledUs ||
      Number(b.quota !== null) - Number(a.quota !== null) ||
      a.path.localeCompare(b.path),
  );

  const withQuota = cgroups.filter((c) => c.quota !== null).length;
  const throttled = cgroups.filter((c) => c.throttledPeriods > 0).length;
  let note: string | null = null;
  if (cgroups.length === 0 && raw.noCpuController.length > 0) {
    note = `no CPU controller cgroup holds the target's processes (no v1 cpu hierarchy, and no cpu controller in the v2 cgroups of pids ${raw.noCpuController.slice(0, 5).join(', ')}): no quota applies, nothing can be throttled`;
  } else if (cgroups.length === 0) {
    note = raw.walked > 0 ? `no cgroup of the ${raw.walked} walked has a CPU quota: nothing on the node can be throttled` : 'no process of the target to look at';
  } else if (withQuota === 0) {
    note = `no CPU quota is set on ${cgroups.map((c) => `${c.path} (${c.hierarchy})`).slice(0, 3).join(', ')} or any cgroup above: the target cannot be throttled (CPU shares and weights only divide CPUs under contention)`;
  }
  return {
    windowMs: Math.round(raw.windowUs / 1000),
    cgroups: cgroups.slice(0, TOP_CGROUPS),
    totalCgroups: cgroups.length,
    withQuota,
    throttled,
    note,
    targets: raw.targets,
    fallback: raw.fallback,
  };
}
