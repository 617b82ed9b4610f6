/** cpu-throttling's result and raw readings: the only home of their schemas and types (the reader builds them, consumers read them). */
import { z } from 'zod';
import { Targets } from '../procfs.ts';

const Count = z.number().int().nonnegative();

/** Which cgroup hierarchy holds a CPU controller cgroup: v1 `cpu` (cfs_quota_us) or v2 (cpu.max). */
export const CpuHierarchy = z.enum(['v1', 'v2']);
export type CpuHierarchy = z.infer<typeof CpuHierarchy>;

/** One reading of a CPU controller cgroup's files, as text (what the kernel printed), at the start or end of the window. */
export const CpuCgroupReading = z.object({
  /** cpu.stat, whole. */
  cpuStat: z.string().nullable(),
  /** The cgroup's CPU time in µs: v2 cpu.stat usage_usec, or v1 cpuacct.usage (ns ÷ 1000) where cpuacct is mounted with cpu; else null. */
  usageUs: z.number().nonnegative().nullable(),
});

export const RawCgroup = z.object({
  hierarchy: CpuHierarchy,
  /** Path below the hierarchy's root ("/kubepods/pod…"; "/" only as a leaf: the root has no quota). */
  path: z.string(),
  /** The cgroup's directory on the node, where its cpu.stat is. */
  dir: z.string(),
  /** A focus process's own CPU cgroup (not an ancestor reported for its quota). */
  leaf: z.boolean(),
  /** v1: cpu.cfs_quota_us and cpu.cfs_period_us as printed; v2: cpu.max as printed ("max 100000", "20000 100000"). */
  quota: z.string().nullable(),
  period: z.string().nullable(),
  before: CpuCgroupReading,
  after: CpuCgroupReading,
  /** Members (cgroup.procs of the cgroup and of the focus processes below it), at most MAX_PROCESSES_PER_CGROUP. */
  pids: z.array(Count),
  totalPids: Count,
  /** The cgroup v2 paths of the focus processes in it: the target as a request names it. */
  targetCgroups: z.array(z.string()),
});
export type RawCgroup = z.infer<typeof RawCgroup>;

export const RawProcess = z.object({
  pid: Count,
  comm: z.string(),
  /** utime + stime of the whole process (/proc/<pid>/stat, clock ticks) at the start and the end; null when it was not there. */
  ticksBefore: z.number().int().nullable(),
  ticksAfter: z.number().int().nullable(),
});

/** Everything the reader read, stored as raw.json: the result is a pure function of it (summarize.ts). */
export const CpuThrottlingRaw = z.object({
  /** The measured window between the two readings, µs. */
  windowUs: z.number().nonnegative(),
  /** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux). */
  clockTicks: z.number().int().positive(),
  /** Where the CPU controller was found: the v1 cpu mount (null when none), whether cpuacct shares it, and the v2 root. */
  mounts: z.object({ cpuV1: z.string().nullable(), cpuacctWithCpu: z.boolean(), v2: z.string() }),
  cgroups: z.array(RawCgroup),
  processes: z.array(RawProcess),
  /** Processes whose /proc/<pid>/cgroup named no CPU controller cgroup (a v2 hierarchy with no cpu controller and no v1 cpu). */
  noCpuController: z.array(Count),
  /** Cgroups that were not read because of the bounds (their paths). */
  notRead: z.array(z.string()),
  /** Cgroups walked when no focus process was given (node-wide); 0 otherwise. */
  walked: Count,
  targets: Targets,
  fallback: z.string().nullable(),
  skippedReads: z.array(z.object({ pid: z.union([z.number(), z.literal('self')]), what: z.string(), code: z.string() })),
});
export type CpuThrottlingRaw = z.infer<typeof CpuThrottlingRaw>;

export const ThrottledProcess = z.object({
  pid: Count,
  comm: z.string(),
  /** CPU time in the window (µs), and as CPUs (cpuUs ÷ window). */
  cpuUs: z.number().nonnegative(),
  cpus: z.number().nonnegative(),
  /** Share of the cgroup's listed processes' CPU time. */
  share: z.number(),
});
export type ThrottledProcess = z.infer<typeof ThrottledProcess>;

export const ThrottledCgroup = z.object({
  hierarchy: CpuHierarchy,
  path: z.string(),
  /** The cgroup's directory on the node (for the commands a finding suggests). */
  dir: z.string(),
  leaf: z.boolean(),
  targetCgroups: z.array(z.string()),
  /** The CPU quota: quotaUs of CPU time per periodUs, as CPUs (quotaUs ÷ periodUs); null when none is set. */
  quota: z.object({ cpus: z.number().positive(), quotaUs: Count, periodUs: Count }).nullable(),
  /** Enforcement periods that elapsed with runnable tasks in the window, and how many of them ran out of quota. */
  periods: Count,
  throttledPeriods: Count,
  /** throttledPeriods ÷ periods (0 with no periods). */
  throttledShare: z.number(),
  /** Time the cgroup's run queues spent throttled in the window, µs (summed over CPUs, as the kernel counts it). */
  throttledUs: z.number().nonnegative(),
  /** CPU time used in the window (µs) and as CPUs; null when neither the cgroup nor its processes could be read. */
  usageUs: z.number().nonnegative().nullable(),
  usageCpus: z.number().nonnegative().nullable(),
  /** usageCpus ÷ quota.cpus: near 1 means the quota is used up. */
  usageOfQuota: z.number().nonnegative().nullable(),
  /** Where usage came from: the cgroup's own counter, or the sum of its listed processes. */
  usageSource: z.enum(['cgroup', 'processes']).nullable(),
  /** Busiest first, top 10. */
  processes: z.array(ThrottledProcess),
  totalProcesses: Count,
});
export type ThrottledCgroup = z.infer<typeof ThrottledCgroup>;

export const CpuThrottlingResult = z.object({
  windowMs: z.number().nonnegative(),
  /** Most throttled first (share of periods, then throttled time); leaves without a quota after; top 20. */
  cgroups: z.array(ThrottledCgroup),
  totalCgroups: Count,
  /** Cgroups with a quota, and those throttled in at least one period of the window. */
  withQuota: Count,
  throttled: Count,
  /** Said plainly when nothing here can be throttled: no quota on any cgroup of the target, or no CPU controller. */
  note: z.string().nullable(),
  targets: Targets,
  fallback: z.string().nullable(),
});
export type CpuThrottlingResult = z.infer<typeof CpuThrottlingResult>;
