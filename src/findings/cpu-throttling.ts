/**
 * Findings about CPU quota throttling (the cpu-throttling tool): which cgroup of the target ran out of its quota, in
 * what share of periods, for how long, and who uses the CPU; and, beside it in the cpu-throttling playbook, the
 * run-queue latency that tells quota from contention. Pure: steps in, a draft out. Triage reads the same figures
 * (throttlingFigures) for its signal.
 */
import { CpuThrottlingResult, type ThrottledCgroup } from '../../bpf/procfs/cpu-throttling/result.ts';
import { RunqlatResult } from '../../bpf/bpftrace/runqlat/result.ts';
import { formatDurationMs } from '../core/duration.ts';
import { formatShare, plural, shellWord } from '../core/format.ts';
import type { Confidence, Finding, Step } from '../core/investigation.ts';
import { formatMicros } from '../sweeps/wording.ts';
import { fieldEvidence, rowEvidence } from './evidence.ts';
import { succeededSteps, type Draft } from './step-problems.ts';

/**
 * Throttled in this share of its periods, a cgroup's latency shows it: every request still running when the quota
 * runs out waits for the next period (up to a whole period, 100 ms by default). One period in ten is where p90s move.
 */
export const THROTTLED_SHARE = 0.1;
/** Half the periods or more: the quota is what the service runs at, not an occasional cap. */
export const THROTTLED_SHARE_CRITICAL = 0.5;
/** Periods a share rests on before it is firm: ten are one second at the default 100 ms period. */
export const FIRM_PERIODS = 10;
/** Run-queue p99 (µs) past which runnable tasks are starved of CPU (the runqlat playbook's default threshold). */
const RUNQ_P99_US = 10_000;

const seconds = (us: number) => `${(us / 1_000_000).toFixed(us >= 10_000_000 ? 0 : 1)} s`;
const cpus = (n: number) => `${Number(n.toFixed(3))} CPU`;

/** The cgroup as a request names it (its v2 paths), with the CPU controller's own path where that differs. */
export function cgroupName(c: ThrottledCgroup): string {
  const targets = c.targetCgroups.filter((t) => t !== c.path);
  const own = `${c.hierarchy === 'v1' ? 'v1 cpu cgroup' : 'cgroup'} ${c.path}`;
  if (targets.length === 0) return own;
  const shown = targets.slice(0, 2).join(', ') + (targets.length > 2 ? ` and ${targets.length - 2} more` : '');
  return `${shown} (${own})`;
}

/** "th-spinner (pid 4242) uses most (0.2 CPU)", or null when no process used CPU in the window. */
function busiest(c: ThrottledCgroup): string | null {
  const p = c.processes[0];
  return p && p.cpuUs > 0 ? `${p.comm} (pid ${p.pid}) uses most (${cpus(p.cpus)}${c.processes.length > 1 ? `, ${formatShare(p.share)} of it` : ''})` : null;
}

/** "CPU throttled: /app hit its quota of 0.2 CPU in 87% of periods, throttled 1.7 s of 5 s; th-spinner (pid 42) uses most" */
export function throttlingTitle(c: ThrottledCgroup, windowMs: number): string {
  const who = busiest(c);
  return (
    `CPU throttled: ${cgroupName(c)} hit its quota of ${c.quota ? cpus(c.quota.cpus) : 'CPU'} in ${formatShare(c.throttledShare)} of periods, ` +
    `throttled ${seconds(c.throttledUs)} of ${seconds(windowMs * 1000)}${who ? `; ${who}` : ''}`
  );
}

/** What the figures say, for a finding's detail. */
export function throttlingDetail(c: ThrottledCgroup): string {
  const q = c.quota;
  const usage =
    c.usageCpus === null
      ? 'its CPU use could not be read'
      : `it used ${cpus(c.usageCpus)}${q ? ` of its ${cpus(q.cpus)} (${formatShare(c.usageOfQuota ?? 0)} of the quota)` : ''}${c.usageSource === 'processes' ? ', summed over its processes' : ''}`;
  const period = q ? `${formatMicros(q.quotaUs)} of CPU time every ${formatMicros(q.periodUs)}` : 'its quota';
  const others = c.processes.slice(1, 4).map((p) => `${p.comm} (pid ${p.pid}) ${cpus(p.cpus)}`);
  return (
    `${c.throttledPeriods} of ${plural(c.periods, 'period')} ran out of quota (${period}); ${usage}. ` +
    `A task still runnable when the quota runs out waits for the next period, however idle the node's CPUs are: ` +
    `latency rises while CPU usage looks low.${others.length ? ` Also using CPU: ${others.join(', ')}.` : ''}` +
    `${c.leaf ? '' : ' The quota is set on an ancestor of the target\'s cgroup (a pod\'s or a slice\'s), and throttles every cgroup below it.'}`
  );
}

export function throttlingConfidence(c: ThrottledCgroup): Confidence {
  const reason = `the kernel's own counters (cpu.stat nr_throttled of nr_periods), read at the start and the end of the window: ${plural(c.periods, 'period')}`;
  return { level: c.periods >= FIRM_PERIODS ? 'high' : 'medium', reason: c.periods >= FIRM_PERIODS ? reason : `${reason}, too few for a firm share` };
}

/** The commands that show it on the node, and the usual remedy. */
function nextOf(c: ThrottledCgroup): NonNullable<Finding['next']> {
  const files = c.hierarchy === 'v1' ? ['cpu.stat', 'cpu.cfs_quota_us', 'cpu.cfs_period_us'] : ['cpu.stat', 'cpu.max'];
  return {
    commands: [`grep . ${files.map((f) => shellWord(`${c.dir}/${f}`)).join(' ')}`],
    remedy:
      'Raise the CPU limit above what the service uses at its peak (Kubernetes resources.limits.cpu; cpu.max or ' +
      'cpu.cfs_quota_us), or remove the limit and keep the request; or make the work cheaper (the cpu-profile playbook shows where it goes).',
  };
}

/** The tool's results on each node that succeeded, parsed (a result that does not parse is not read). */
export function throttlingResults(steps: readonly Step[], stepId?: string): { step: Step; node: string; r: CpuThrottlingResult }[] {
  const picked = stepId === undefined ? steps.filter((s) => s.tool === 'cpu-throttling' && s.status === 'succeeded') : succeededSteps([...steps], stepId);
  return picked.flatMap((s) => {
    const parsed = CpuThrottlingResult.safeParse(s.result);
    return parsed.success ? [{ step: s, node: s.node ?? '?', r: parsed.data }] : [];
  });
}

/** "no cgroup throttled (quota 0.2 CPU on /app, 0 of 50 periods)": a result in a few words, when nothing stands out. */
export function throttlingFigure(r: CpuThrottlingResult): string {
  const worst = r.cgroups[0];
  if (!worst) return `no CPU cgroup read${r.note ? `: ${r.note}` : ''}`;
  if (r.withQuota === 0) return 'no CPU quota on the target';
  const q = r.cgroups.find((c) => c.quota !== null)!;
  return `throttled in ${formatShare(worst.throttledShare)} of periods at most (quota ${cpus(q.quota!.cpus)} on ${cgroupName(q)}, ${worst.throttledPeriods} of ${plural(worst.periods, 'period')} throttled)`;
}

const evidenceOf = (step: Step, c: ThrottledCgroup) =>
  rowEvidence([step], step.id, ['cgroups'], (row) => (row as ThrottledCgroup).path === c.path && (row as ThrottledCgroup).hierarchy === c.hierarchy);

/** The cpu-throttling playbook's findings: throttled cgroups, then run-queue latency, each stated or ruled out. */
export function summarizeCpuThrottling(input: { steps: Step[]; stepId: string; durationText: string }): Draft {
  const findings: Finding[] = [];
  const headlines: string[] = [];
  for (const { step, node, r } of throttlingResults(input.steps, input.stepId)) {
    const hit = r.cgroups.filter((c) => c.quota !== null && c.throttledShare >= THROTTLED_SHARE && c.throttledPeriods > 0);
    for (const c of hit) {
      const title = throttlingTitle(c, r.windowMs);
      headlines.push(title);
      findings.push({
        severity: c.throttledShare >= THROTTLED_SHARE_CRITICAL ? 'critical' : 'warning',
        title,
        detail: throttlingDetail(c),
        confidence: throttlingConfidence(c),
        evidence: evidenceOf(step, c),
        next: nextOf(c),
      });
    }
    if (hit.length === 0) {
      const lightly = r.cgroups.filter((c) => c.quota !== null);
      findings.push({
        severity: 'info',
        title: `Ruled out on ${node}: CPU throttling — ${throttlingFigure(r)}`,
        detail:
          r.note ??
          `${lightly.map((c) => `${cgroupName(c)}: quota ${cpus(c.quota!.cpus)}, ${c.throttledPeriods} of ${plural(c.periods, 'period')} throttled, used ${c.usageCpus === null ? '?' : cpus(c.usageCpus)}`).join('; ')}. ` +
            `Threshold: ${formatShare(THROTTLED_SHARE)} of periods.`,
        confidence: { level: 'high', reason: `cpu.stat read ${formatDurationMs(r.windowMs)} apart: the kernel counts every period` },
        evidence: r.cgroups.length > 0 ? rowEvidence([step], step.id, ['cgroups'], (_, i) => i < 3) : fieldEvidence([step], step.id, [['note'], ['targets']]),
      });
    }
  }

  // Run-queue latency beside it: CPU-starved but not throttled is contention (neighbours, too few CPUs).
  let runq: string | null = null;
  for (const s of input.steps.filter((x) => x.tool === 'runqlat' && x.status === 'succeeded')) {
    const parsed = RunqlatResult.safeParse(s.result);
    if (!parsed.success) continue;
    const { all, cgroups } = parsed.data;
    const worst = cgroups.find((c) => c.p99 !== null && c.p99 >= RUNQ_P99_US);
    const sized: Confidence = { level: all.count >= 1000 ? 'high' : all.count >= 100 ? 'medium' : 'low', reason: `p99 of a log2 histogram of ${plural(all.count, 'wait')} (sched_wakeup → sched_switch)` };
    if (worst) {
      runq = `runnable tasks in ${worst.cgroup ?? `cgroup #${worst.cgroupId}`} wait ${formatMicros(worst.p99 ?? 0)} for a CPU (p99)`;
      findings.push({
        severity: 'warning',
        title: `Tasks in ${worst.cgroup ?? `cgroup #${worst.cgroupId}`} waited ${formatMicros(worst.p99 ?? 0)} for a CPU (p99)`,
        detail: `${plural(worst.count, 'wait')}; p50 ${formatMicros(worst.p50 ?? 0)}. Waiting on the run queue is contention for CPUs (busy neighbours, too few CPUs), which a quota does not explain.`,
        confidence: sized,
        evidence: rowEvidence([s], s.id, ['cgroups'], (row) => (row as { cgroupId?: number }).cgroupId === worst.cgroupId),
      });
    } else {
      findings.push({
        severity: 'info',
        title: `Ruled out: run-queue latency — p99 ${formatMicros(all.p99 ?? 0)} over ${plural(all.count, 'wait')}`,
        detail: `No cgroup of the target waited ${formatMicros(RUNQ_P99_US)} or more for a CPU at p99: not CPU contention.`,
        confidence: all.count === 0 ? { level: 'high', reason: 'no wait counted in the whole capture' } : sized,
        evidence: fieldEvidence([s], s.id, [['all', 'count'], ['all', 'p50'], ['all', 'p99']]),
      });
    }
  }

  const headline =
    headlines[0] !== undefined
      ? `${headlines[0]}${headlines.length > 1 ? ` (and ${plural(headlines.length - 1, 'other throttled cgroup')})` : ''}`
      : runq
        ? `Not throttled, but ${runq}: CPU contention`
        : `Not CPU-limited in ${input.durationText}: ${findings.map((f) => f.title.replace(/^Ruled out( on [^:]+)?: /, '')).join('; ') || 'nothing measured'}`;
  return { headline, findings };
}
