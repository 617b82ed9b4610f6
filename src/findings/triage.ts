/**
 * Triage: the sixty-second checklist of Linux performance analysis (failing syscalls, run-queue latency, block I/O
 * latency, TCP retransmits and failed connects, OOM kills, exec rate, a CPU profile), each signal compared with what
 * is normal, ranked, and ending with the one specific playbook to run next. Pure: steps and sweeps in, a draft out.
 */
import { BiolatencyResult } from '../../bpf/bpftrace/biolatency/result.ts';
import { ExecsnoopResult } from '../../bpf/bpftrace/execsnoop/result.ts';
import { OomkillResult } from '../../bpf/bpftrace/oomkill/result.ts';
import { ProfileResult } from '../../bpf/bpftrace/profile/result.ts';
import { RunqlatResult } from '../../bpf/bpftrace/runqlat/result.ts';
import { SyscountResult } from '../../bpf/bpftrace/syscount/result.ts';
import { TcpconnectResult } from '../../bpf/bpftrace/tcpconnect/result.ts';
import { TcpretransResult } from '../../bpf/bpftrace/tcpretrans/result.ts';
import { TRIAGE_PARTS, TriageResult, type TriagePart } from '../../bpf/bpftrace/triage/result.ts';
import { formatDurationMs } from '../core/duration.ts';
import { formatCount, formatShare, plural, shellWord } from '../core/format.ts';
import type { Confidence, Evidence, Finding, Investigation, NextPlaybook, Severity, Step } from '../core/investigation.ts';
import type { Target } from '../core/target.ts';
import { compareWithSweeps, type NodeAgainstSweeps } from '../sweeps/against.ts';
import { RESOURCE_ERRNOS, type Change, type ChangeKind } from '../sweeps/rules.ts';
import { changeTitle, formatMicros } from '../sweeps/wording.ts';
import { whoBurns } from './cpu-profile.ts';
import { throttlingConfidence, throttlingDetail, throttlingFigure, throttlingResults, throttlingTitle } from './cpu-throttling.ts';
import { fieldEvidence, rowEvidence } from './evidence.ts';
import type { Draft } from './step-problems.ts';

/**
 * What is normal, in one place. A figure at or past its threshold "stands out"; its ratio to the threshold ranks it.
 * Each says why it is where it is.
 */
export const TRIAGE_THRESHOLDS = {
  /** Run-queue p99 (µs). A runnable task waiting 10 ms for a CPU has missed several scheduler slices (~3 ms): contention or throttling, not scheduling noise. */
  runqP99Us: 10_000,
  /** Waits needed before a run-queue p99 means anything: a p99 of a handful of waits is one wait. */
  runqMinWaits: 20,
  /** Block I/O p99 (µs). SSDs answer in well under a millisecond and spinning disks in ~10 ms; 50 ms at p99 is a device or queue in trouble. */
  ioP99Us: 50_000,
  /** Requests needed before a device's p99 means anything. */
  ioMinRequests: 10,
  /** OOM kills. Any: the kernel killed a process of the target. */
  oomKills: 1,
  /** Failures with an errno that means a resource ran out (ENOSPC, ENOMEM, EMFILE, ENFILE, EDQUOT). Any: nothing retries its way out of a full disk. */
  resourceErrnoFailures: 1,
  /**
   * Failures per second of one syscall with one other errno. Busy services fail harmless calls (EAGAIN on non-blocking
   * sockets, ENOENT on path searches) hundreds of times a second; a thousand a second of one kind is a loop retrying.
   */
  otherErrnoPerSecond: 1_000,
  /** TCP retransmits per second. A healthy connection retransmits rarely; one a second, sustained, is loss, congestion or a peer not answering. */
  retransPerSecond: 1,
  /** Share of TCP connects that failed (with at least one failure). Connects to a healthy peer do not fail; one in ten failing is a peer down or unreachable. */
  failedConnectShare: 0.1,
  /** Executions per second (the exec-storm playbook's default). Health checks and cron start a few a second; twenty is a loop or a crash-looping helper. */
  execsPerSecond: 20,
  /** One function's share of the target's on-CPU samples (self). Past 30%, one function is where the time goes. */
  hotFunctionShare: 0.3,
  /** CPUs the target must have kept busy for its profile to count: an idle process's few samples name no hot function. */
  minBusyCpus: 0.2,
  /**
   * Share of a cgroup's CPU quota periods in which it was throttled. A task still runnable when the quota runs out
   * waits out the rest of the period (up to 100 ms by default) whatever the node's load: throttled in one period of
   * ten, the target's p90 latency carries that wait.
   */
  throttledShare: 0.1,
  /** Quota periods needed before that share means anything: ten are one second at the default 100 ms period. */
  throttleMinPeriods: 10,
} as const;

/**
 * "Clearly dominates", the one rule that decides whether triage chains into the next playbook: the top signal stands
 * out and no other does, or the runner-up is of a lower severity, or the top's ratio to its threshold is at least
 * DOMINANCE_FACTOR times the runner-up's.
 */
export const DOMINANCE_FACTOR = 3;

/** Ratios are capped so that one runaway figure (a million ENOSPC) ranks first without making ratios meaningless. */
const RATIO_CAP = 10;

export type SignalKind = 'oom' | 'syscalls' | 'runq' | 'io' | 'retrans' | 'connects' | 'execs' | 'cpu' | 'throttle';

/** One checked signal on one node: its figure, whether it stands out, and where it leads. */
export interface Signal {
  kind: SignalKind;
  node: string;
  standsOut: boolean;
  severity: Exclude<Severity, 'info'>;
  /** Figure ÷ threshold, capped; 0 when nothing was seen. Ranks signals of one severity. */
  ratio: number;
  /** What it is, as a title: "crunch_alpha is 97% of the CPU samples". */
  title: string;
  /** The figure for a reader, whether it stands out or is ruled out: "run-queue p99 0.4 ms over 312 waits". */
  figure: string;
  detail: string;
  /** The playbook that follows this signal further, with the reason; null when none does. */
  playbook: string | null;
  why: string;
  confidence: Confidence;
  evidence: Evidence[];
}

export interface TriageInput {
  steps: Step[];
  /** Capture window per step (ms). */
  durationMs: number;
  target?: Target;
  /** Earlier health sweeps (any schedule): the node's baseline where one measured the node. */
  sweeps?: readonly Investigation[];
}

const cap = (r: number) => Math.min(RATIO_CAP, r);

/** "/my-app", "pid 4242", "pod ns/web", "node-17": the target as the headline names it. */
export function targetText(t: Target | undefined): string {
  if (!t) return 'every node';
  if (t.pod) return `pod ${t.pod}`;
  if (t.labelSelector) return `pods ${t.labelSelector} in ${t.namespace}`;
  if (t.namespace) return `namespace ${t.namespace}`;
  if (t.cgroup) return `${t.cgroup}${t.pid ? ` (pid ${t.pid})` : ''}`;
  if (t.pid) return `pid ${t.pid}`;
  return t.node ?? 'the target';
}

/** The steps of a tool that succeeded, with their parsed results (a result that does not parse is not measured). */
function results<T>(steps: readonly Step[], tool: string, schema: { safeParse(v: unknown): { success: boolean; data?: T } }): { step: Step; node: string; r: T }[] {
  return steps.flatMap((s) => {
    if (s.tool !== tool || s.status !== 'succeeded') return [];
    const parsed = schema.safeParse(s.result);
    return parsed.success ? [{ step: s, node: s.node ?? '?', r: parsed.data as T }] : [];
  });
}

/**
 * The joint program's step (tool `triage`: every kernel signal in one bpftrace) as one step per checklist tool, each
 * holding that tool's own result, so every rule below reads it as it reads the tool's own step. A joint step that did
 * not succeed leaves its tools not measured. Its evidence is re-pointed into the joint result by `repoint`.
 */
export function expandJoint(steps: readonly Step[]): Step[] {
  return steps.flatMap((s): Step[] => {
    if (s.tool !== 'triage') return [s];
    const parsed = s.status === 'succeeded' ? TriageResult.safeParse(s.result) : null;
    if (!parsed?.success) return TRIAGE_PARTS.map((p) => ({ ...s, tool: p.tool, status: s.status === 'succeeded' ? 'failed' : s.status, result: undefined }));
    return TRIAGE_PARTS.map((p) => ({ ...s, tool: p.tool, result: parsed.data[p.tool] }));
  });
}

/** Which tool each signal is read from, for re-pointing its evidence into a joint result. */
const SIGNAL_TOOL: Partial<Record<SignalKind, TriagePart>> = {
  syscalls: 'syscount', runq: 'runqlat', io: 'biolatency', retrans: 'tcpretrans', connects: 'tcpconnect', oom: 'oomkill', execs: 'execsnoop', cpu: 'profile',
};

/** Rows of a joint step's result.json are under the tool's name ("/profile/topFunctions/0"). */
function repoint(signal: Signal, steps: readonly Step[]): Signal {
  const tool = SIGNAL_TOOL[signal.kind];
  const joint = new Set(steps.filter((st) => st.tool === 'triage').flatMap((st) => (st.artifacts ?? []).filter((a) => a.endsWith('/result.json'))));
  if (!tool || joint.size === 0) return signal;
  return {
    ...signal,
    evidence: signal.evidence.map((e) => (joint.has(e.artifact) && e.rows ? { ...e, rows: e.rows.map((r) => `/${tool}${r}`) } : e)),
  };
}

const high = (reason: string): Confidence => ({ level: 'high', reason });
/** A percentile's confidence by how many samples it rests on (playbooks/README.md, "Findings"). */
const sized = (n: number, reason: string): Confidence => ({ level: n >= 1000 ? 'high' : n >= 100 ? 'medium' : 'low', reason });

function oomSignals(steps: readonly Step[]): Signal[] {
  return results(steps, 'oomkill', OomkillResult).map(({ step, node, r }) => {
    const victims = r.kills.slice(0, 3).map((k) => `${k.comm} (pid ${k.pid}, ${formatCount(Math.round(k.anonRssKb / 1024))} MiB anonymous)`);
    return {
      kind: 'oom',
      node,
      standsOut: r.total >= TRIAGE_THRESHOLDS.oomKills,
      severity: 'critical',
      ratio: cap(r.total / TRIAGE_THRESHOLDS.oomKills),
      title: `${plural(r.total, 'OOM kill')}: ${victims.join(', ')}`,
      figure: r.total === 0 ? 'no OOM kill' : plural(r.total, 'OOM kill'),
      detail: r.total === 0 ? 'The OOM killer killed no process of the target during the capture.' : `The kernel's OOM killer killed ${victims.join(', ')} during the capture.`,
      playbook: 'oomkill',
      why: 'the OOM killer killed a process of the target: the oomkill playbook waits for the next kill and reports the victim\'s memory and what triggered it',
      confidence: high('the kernel reported each kill itself (oom:mark_victim)'),
      evidence: r.total > 0 ? rowEvidence([step], step.id, ['kills'], () => true) : fieldEvidence([step], step.id, [['total']]),
    } satisfies Signal;
  });
}

/** Where a failing errno leads. */
function errnoPlaybook(errno: string): { playbook: string | null; why: string } {
  if (errno === 'ENOSPC' || errno === 'EDQUOT') return { playbook: 'enospc', why: `${errno} failures: the enospc playbook follows them to the full filesystem, quota or kernel limit` };
  if (errno === 'ENOMEM') return { playbook: 'oomkill', why: 'ENOMEM failures: memory ran out; the oomkill playbook shows who the kernel kills for it' };
  if (['EMFILE', 'ENFILE', 'ENOENT', 'EACCES', 'EPERM'].includes(errno)) return { playbook: 'file-errors', why: `${errno} failures: the file-errors playbook names the files and the limit` };
  if (['ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'].includes(errno)) return { playbook: 'connections', why: `${errno} failures: the connections playbook names the peers` };
  return { playbook: null, why: `no playbook narrows ${errno} further; strace the process for the failing call's arguments` };
}

function syscallSignals(steps: readonly Step[], seconds: number): Signal[] {
  return results(steps, 'syscount', SyscountResult).flatMap(({ step, node, r }) => {
    // By errno: one cause (a full disk) fails write, fallocate and pwrite64 alike, and is one signal.
    const byErrno = new Map<string, { errno: string; count: number; calls: Map<string, number>; comms: Set<string> }>();
    for (const row of r.rows) {
      const e = byErrno.get(row.errno) ?? { errno: row.errno, count: 0, calls: new Map<string, number>(), comms: new Set<string>() };
      e.count += row.count;
      e.calls.set(row.syscall, (e.calls.get(row.syscall) ?? 0) + row.count);
      e.comms.add(`${row.comm} (pid ${row.pid})`);
      byErrno.set(row.errno, e);
    }
    const sorted = [...byErrno.values()].sort((a, b) => b.count - a.count || a.errno.localeCompare(b.errno));
    const callsOf = (e: (typeof sorted)[number]) =>
      [...e.calls].sort((a, b) => b[1] - a[1]).map(([call, n]) => `${call} ×${formatCount(n)}`).join(', ');
    const listing = sorted.slice(0, 8).map((e) => `${e.errno} ×${formatCount(e.count)} (${callsOf(e)})`).join('; ');
    const figure = sorted.length === 0 ? 'no failing syscalls' : `failing syscalls: ${listing}${sorted.length > 8 ? `; … (${sorted.length} errnos)` : ''}`;
    // A resource errno counts from its first failure; any other by the busiest syscall failing with it, per second.
    const judged = sorted.map((e) => {
      const resource = RESOURCE_ERRNOS.includes(e.errno);
      const busiest = Math.max(...e.calls.values());
      const ratio = resource ? e.count / TRIAGE_THRESHOLDS.resourceErrnoFailures : busiest / seconds / TRIAGE_THRESHOLDS.otherErrnoPerSecond;
      return { e, resource, ratio };
    });
    const out = judged
      .filter((j) => j.ratio >= 1)
      .slice(0, 3)
      .map(({ e, resource, ratio }): Signal => ({
        kind: 'syscalls',
        node,
        standsOut: true,
        severity: resource ? 'critical' : 'warning',
        ratio: cap(ratio),
        title: `${[...e.calls.keys()].map((c) => `${c}(2)`).join(', ')} ${e.calls.size === 1 ? 'fails' : 'fail'} with ${e.errno} ${plural(e.count, 'time')} in ${[...e.comms].slice(0, 3).join(', ')}`,
        figure,
        detail: resource
          ? `${e.errno} means a resource ran out; every failure counts (${callsOf(e)}). All failing syscalls: ${listing}.`
          : `Past ${formatCount(TRIAGE_THRESHOLDS.otherErrnoPerSecond)} failures a second of one syscall: a loop retrying (${callsOf(e)}). All failing syscalls: ${listing}.`,
        ...errnoPlaybook(e.errno),
        confidence: high('the kernel returned the error to the target\'s calls (raw_syscalls:sys_exit), counted in the kernel'),
        evidence: rowEvidence([step], step.id, ['rows'], (row) => (row as { errno?: unknown }).errno === e.errno),
      }));
    if (out.length > 0) return out;
    return [
      {
        kind: 'syscalls', node, standsOut: false, severity: 'warning', ratio: cap(Math.max(0, ...judged.map((j) => j.ratio))),
        title: `Failing syscalls: ${listing || 'none'}`, figure,
        detail: sorted.length === 0
          ? 'No syscall of the target failed.'
          : `None with a resource errno (${RESOURCE_ERRNOS.join(', ')}), none past ${formatCount(TRIAGE_THRESHOLDS.otherErrnoPerSecond)} failures a second.`,
        playbook: null, why: '',
        confidence: high('every failing syscall of the target is counted in the kernel'),
        evidence: fieldEvidence([step], step.id, [['totalEvents']]),
      },
    ];
  });
}

function runqSignals(steps: readonly Step[]): Signal[] {
  const t = TRIAGE_THRESHOLDS;
  return results(steps, 'runqlat', RunqlatResult).map(({ step, node, r }) => {
    const { count, p99, p50 } = r.all;
    const enough = count >= t.runqMinWaits;
    const ratio = p99 === null ? 0 : p99 / t.runqP99Us;
    const figure = count === 0 ? 'no run-queue waits' : `run-queue p99 ${formatMicros(p99 ?? 0)} over ${plural(count, 'wait')}`;
    return {
      kind: 'runq',
      node,
      standsOut: enough && ratio >= 1,
      severity: 'warning',
      ratio: enough ? cap(ratio) : 0,
      title: `Runnable tasks wait ${formatMicros(p99 ?? 0)} for a CPU (p99)`,
      figure,
      detail: `${figure}, p50 ${formatMicros(p50 ?? 0)}; threshold ${formatMicros(t.runqP99Us)} at p99${enough ? '' : ` (too few waits to judge: fewer than ${t.runqMinWaits})`}.`,
      playbook: 'runqlat',
      why: 'run-queue latency: the runqlat playbook measures it per cgroup for longer, to find who waits and who competes',
      confidence: count === 0 ? high('no wait counted in the whole capture') : sized(count, `p99 of a log2 histogram of ${plural(count, 'wait')} (sched_wakeup → sched_switch)`),
      evidence: fieldEvidence([step], step.id, [['all', 'count'], ['all', 'p50'], ['all', 'p99']]),
    } satisfies Signal;
  });
}

function ioSignals(steps: readonly Step[]): Signal[] {
  const t = TRIAGE_THRESHOLDS;
  return results(steps, 'biolatency', BiolatencyResult).map(({ step, node, r }) => {
    const judged = r.rows.map((row) => {
      const name = `${row.op} on ${row.device ?? `${row.major}:${row.minor}`}`;
      const latency = row.count >= t.ioMinRequests && row.p99 !== null ? row.p99 / t.ioP99Us : 0;
      return { row, name, ratio: Math.max(latency, row.errors > 0 ? 1 + row.errors : 0) };
    });
    const worst = [...judged].sort((a, b) => b.ratio - a.ratio)[0];
    const figure = r.totalRequests === 0
      ? 'no block I/O'
      : `block I/O ${judged.slice(0, 3).map((j) => `${j.name} p99 ${formatMicros(j.row.p99 ?? 0)} over ${plural(j.row.count, 'request')}`).join('; ')}${r.totalErrors ? `; ${plural(r.totalErrors, 'error')}` : ''}`;
    const stands = worst !== undefined && worst.ratio >= 1;
    return {
      kind: 'io',
      node,
      standsOut: stands,
      severity: 'warning',
      ratio: cap(worst?.ratio ?? 0),
      title: worst
        ? worst.row.errors > 0
          ? `${plural(worst.row.errors, 'block I/O error')} on ${worst.name}`
          : `Block I/O ${worst.name} takes ${formatMicros(worst.row.p99 ?? 0)} at p99`
        : 'Block I/O',
      figure,
      detail: `${figure}; threshold ${formatMicros(t.ioP99Us)} at p99 over at least ${t.ioMinRequests} requests, and any error.`,
      playbook: 'io-latency',
      why: 'block I/O latency: the io-latency playbook names the slow requests, the processes and files that wait on them',
      confidence: r.totalRequests === 0 ? high('no request counted in the whole capture') : sized(worst?.row.count ?? 0, `p99 of a log2 histogram of ${plural(worst?.row.count ?? 0, 'request')} (block_rq_issue → block_rq_complete)`),
      evidence: stands
        ? rowEvidence([step], step.id, ['rows'], (row) => row === worst.row)
        : fieldEvidence([step], step.id, [['totalRequests'], ['totalErrors']]),
    } satisfies Signal;
  });
}

function retransSignals(steps: readonly Step[], seconds: number): Signal[] {
  return results(steps, 'tcpretrans', TcpretransResult).map(({ step, node, r }) => {
    const perSecond = r.total / seconds;
    const synSent = r.byState.find((s) => s.state === 'TCP_SYN_SENT')?.count ?? 0;
    const connecting = r.total > 0 && synSent * 2 > r.total;
    const top = r.flows[0];
    return {
      kind: 'retrans',
      node,
      standsOut: perSecond >= TRIAGE_THRESHOLDS.retransPerSecond,
      severity: 'warning',
      ratio: cap(perSecond / TRIAGE_THRESHOLDS.retransPerSecond),
      title: `${plural(r.total, 'TCP retransmit')} (${perSecond.toFixed(1)}/s)${top ? `, most ${top.saddr}:${top.sport} → ${top.daddr}:${top.dport}` : ''}`,
      figure: r.total === 0 ? 'no TCP retransmits' : `${plural(r.total, 'TCP retransmit')} (${perSecond.toFixed(1)}/s) in ${plural(r.distinctFlows, 'flow')}`,
      detail: `States: ${r.byState.map((s) => `${s.state} ×${s.count}`).join(', ') || 'none'}; threshold ${TRIAGE_THRESHOLDS.retransPerSecond}/s.`,
      ...(connecting
        ? { playbook: 'connections', why: 'most retransmits are of SYNs (SYN_SENT): connects that get no answer; the connections playbook names them' }
        : { playbook: 'tcp-retrans', why: 'TCP retransmits: the tcp-retrans playbook lists the flows and states for longer' }),
      confidence: high('each retransmit counted by the kernel (tcp:tcp_retransmit_skb)'),
      evidence: r.total > 0 ? rowEvidence([step], step.id, ['flows'], () => true) : fieldEvidence([step], step.id, [['total']]),
    } satisfies Signal;
  });
}

function connectSignals(steps: readonly Step[]): Signal[] {
  return results(steps, 'tcpconnect', TcpconnectResult).map(({ step, node, r }) => {
    const share = r.attempts > 0 ? r.failed / r.attempts : 0;
    const failing = r.targets.filter((x) => x.failures.length > 0);
    const first = failing[0];
    const errors = r.failures.map((f) => `${f.error} ×${f.count}`).join(', ');
    return {
      kind: 'connects',
      node,
      standsOut: r.failed > 0 && share >= TRIAGE_THRESHOLDS.failedConnectShare,
      severity: 'warning',
      ratio: r.failed > 0 ? cap(share / TRIAGE_THRESHOLDS.failedConnectShare) : 0,
      title: `${r.failed} of ${plural(r.attempts, 'TCP connect')} failed (${errors})${first ? `, first ${first.comm} → ${first.daddr}:${first.dport}` : ''}`,
      figure: r.attempts === 0 ? 'no TCP connects' : `${r.failed} of ${plural(r.attempts, 'TCP connect')} failed${errors ? ` (${errors})` : ''}`,
      detail: `Threshold: at least one failure and ${formatShare(TRIAGE_THRESHOLDS.failedConnectShare)} of connects.`,
      playbook: 'connections',
      why: 'failed connects: the connections playbook names the peers, how they fail and whether listeners overflow',
      confidence: high('each connect followed by the kernel from SYN_SENT to its end (sock:inet_sock_set_state)'),
      evidence: failing.length > 0
        ? rowEvidence([step], step.id, ['targets'], (x) => ((x as { failures?: unknown[] }).failures?.length ?? 0) > 0)
        : fieldEvidence([step], step.id, [['attempts'], ['failed']]),
    } satisfies Signal;
  });
}

function execSignals(steps: readonly Step[], seconds: number): Signal[] {
  return results(steps, 'execsnoop', ExecsnoopResult).map(({ step, node, r }) => {
    const rate = r.execsPerSecond ?? r.execs / seconds;
    const top = r.filenames[0];
    const parent = r.parents[0];
    return {
      kind: 'execs',
      node,
      standsOut: rate >= TRIAGE_THRESHOLDS.execsPerSecond,
      severity: 'warning',
      ratio: cap(rate / TRIAGE_THRESHOLDS.execsPerSecond),
      title: `${rate.toFixed(1)} executions/s${top ? `, mostly ${top.filename}` : ''}${parent ? ` started by ${parent.comm ?? '?'} (pid ${parent.ppid})` : ''}`,
      figure: `${rate.toFixed(1)} executions/s (${plural(r.execs, 'exec')})`,
      detail: `Threshold ${TRIAGE_THRESHOLDS.execsPerSecond}/s.`,
      playbook: 'exec-storm',
      why: 'an exec storm: the exec-storm playbook names the programs and the parents that start them',
      confidence: high('each execve counted by the kernel (sched:sched_process_exec and the exec syscalls)'),
      evidence: r.execs > 0 ? rowEvidence([step], step.id, ['filenames'], (_, i) => i === 0) : fieldEvidence([step], step.id, [['execs']]),
    } satisfies Signal;
  });
}

function cpuSignals(steps: readonly Step[], seconds: number): Signal[] {
  const t = TRIAGE_THRESHOLDS;
  return results(steps, 'profile', ProfileResult).map(({ step, node, r }) => {
    const busy = r.hz > 0 ? r.samples / (r.hz * seconds) : 0;
    const top = r.topFunctions[0];
    const share = top?.self ?? 0;
    const enough = busy >= t.minBusyCpus;
    const who = whoBurns(r.processes, r.samples);
    return {
      kind: 'cpu',
      node,
      standsOut: enough && share >= t.hotFunctionShare,
      severity: 'warning',
      ratio: enough ? cap(share / t.hotFunctionShare) : 0,
      title: top
        ? `${top.name} is ${formatShare(share)} of the target's on-CPU samples (${busy.toFixed(2)} CPUs busy)${who ? `, mostly in ${who}` : ''}`
        : 'CPU profile',
      figure: r.samples === 0
        ? 'no on-CPU samples'
        : `${plural(r.samples, 'CPU sample')} (${busy.toFixed(2)} CPUs busy)${top ? `, hottest ${top.name} ${formatShare(share)}` : ''}`,
      detail: `Threshold: one function at ${formatShare(t.hotFunctionShare)} of samples or more, with the target keeping at least ${t.minBusyCpus} CPUs busy.${top ? ` Top: ${r.topFunctions.slice(0, 3).map((f) => `${f.name} ${formatShare(f.self)}`).join(', ')}.` : ''}`,
      playbook: 'cpu-profile',
      why: `one hot function${top ? ` (${top.name})` : ''}: the cpu-profile playbook samples longer and draws the flamegraph`,
      confidence: r.samples === 0 ? high('no sample of the target in the whole capture') : { level: r.samples >= 500 ? 'medium' : 'low', reason: `${plural(r.samples, 'sample')} at ${r.hz} Hz over ${formatDurationMs(seconds * 1000)}: a short profile points where the time goes, a longer one confirms it` },
      evidence: top && share > 0 ? rowEvidence([step], step.id, ['topFunctions'], (_, i) => i === 0) : fieldEvidence([step], step.id, [['samples']]),
    } satisfies Signal;
  });
}

function throttleSignals(steps: readonly Step[]): Signal[] {
  const t = TRIAGE_THRESHOLDS;
  return throttlingResults(steps).map(({ step, node, r }) => {
    // Most throttled first (the tool's order): the one that says whether a quota holds the target back.
    const worst = r.cgroups.find((c) => c.quota !== null);
    const enough = worst !== undefined && worst.periods >= t.throttleMinPeriods;
    const ratio = worst ? worst.throttledShare / t.throttledShare : 0;
    return {
      kind: 'throttle',
      node,
      standsOut: enough && worst.throttledPeriods > 0 && ratio >= 1,
      severity: 'warning',
      ratio: enough ? cap(ratio) : 0,
      title: worst ? throttlingTitle(worst, r.windowMs) : 'CPU quota throttling',
      figure: throttlingFigure(r),
      detail: worst
        ? `${throttlingDetail(worst)} Threshold: throttled in ${formatShare(t.throttledShare)} of at least ${t.throttleMinPeriods} periods.`
        : (r.note ?? 'No CPU cgroup of the target was read.'),
      playbook: 'cpu-throttling',
      why: 'CPU quota throttling: the cpu-throttling playbook measures it with run-queue latency beside it, to tell the quota from contention',
      confidence: worst ? throttlingConfidence(worst) : high(`every CPU controller cgroup of the target read: ${r.note ?? 'no quota set'}`),
      evidence: worst
        ? rowEvidence([step], step.id, ['cgroups'], (row) => (row as { path?: unknown }).path === worst.path)
        : fieldEvidence([step], step.id, [['note'], ['withQuota']]),
    } satisfies Signal;
  });
}

/** Which triage signal a sweep comparison's change is about. */
const CHANGE_SIGNAL: Partial<Record<ChangeKind, SignalKind>> = {
  'runq-p99': 'runq', 'io-p99': 'io', 'io-errors': 'io', 'syscall-new': 'syscalls', 'syscall-growth': 'syscalls', 'retrans-rise': 'retrans', 'oom-kills': 'oom',
};

/**
 * The node's health sweeps, where it has them: a change by the sweep comparison's own rules makes its signal stand
 * out (at least at its threshold), and every compared signal says how it stands against the node's usual.
 */
function withBaseline(signals: Signal[], against: readonly NodeAgainstSweeps[]): Signal[] {
  return signals.map((s) => {
    const node = against.find((a) => a.node === s.node);
    if (!node) return s;
    const changes = node.changes.filter((c: Change) => CHANGE_SIGNAL[c.kind] === s.kind);
    const basis = `${plural(node.sweeps.length, 'health sweep')}${node.schedule ? ` of schedule ${node.schedule}` : ''} (node-wide figures)`;
    if (changes.length === 0) return { ...s, detail: `${s.detail} Within the usual of ${s.node} by ${basis}.` };
    return {
      ...s,
      standsOut: true,
      ratio: Math.max(s.ratio, 1),
      detail: `${s.detail} Against ${s.node}'s usual by ${basis}: ${changes.map(changeTitle).join('; ')}.`,
    };
  });
}

/** Every measured signal, with the node's sweeps where there are some. */
export function triageSignals(input: TriageInput): Signal[] {
  const seconds = Math.max(input.durationMs, 1) / 1000;
  const s = expandJoint(input.steps);
  const signals = [
    ...syscallSignals(s, seconds), ...runqSignals(s), ...ioSignals(s), ...retransSignals(s, seconds),
    ...connectSignals(s), ...oomSignals(s), ...execSignals(s, seconds), ...cpuSignals(s, seconds), ...throttleSignals(s),
  ].map((sig) => repoint(sig, input.steps));
  const sweeps = input.sweeps ?? [];
  return sweeps.length > 0 ? withBaseline(signals, compareWithSweeps({ steps: s }, sweeps)) : signals;
}

/** The request that runs a playbook on the same target, as a command to paste (the body quoted for the shell). */
const startCommand = (playbook: string, target: Target | undefined) =>
  `curl -s "$TRACEHOUND_URL/v1/investigations" -H "$TH" -H 'content-type: application/json' -d ${shellWord(JSON.stringify({ playbook, ...(target ? { target } : {}) }))}`;

const SEVERITY_RANK = { critical: 0, warning: 1 } as const;

/**
 * What stands out first: critical before warning, then by ratio to the threshold. What is ruled out follows in the
 * checklist's order (the playbook's steps), which reads better than an order among figures under their thresholds.
 */
export function rankSignals(signals: readonly Signal[]): Signal[] {
  const out = signals.filter((s) => s.standsOut).sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.ratio - a.ratio);
  return [...out, ...signals.filter((s) => !s.standsOut)];
}

/** The top signal when it clearly dominates (DOMINANCE_FACTOR), else null. `ranked` as rankSignals gives it. */
export function dominant(ranked: readonly Signal[]): Signal | null {
  const [top, second] = ranked.filter((s) => s.standsOut);
  if (!top) return null;
  if (!second) return top;
  if (SEVERITY_RANK[top.severity] < SEVERITY_RANK[second.severity]) return top;
  return top.ratio >= DOMINANCE_FACTOR * second.ratio ? top : null;
}

/** The tools of the checklist, in its order: what a complete triage measured. */
const TRIAGE_TOOLS = ['syscount', 'runqlat', 'biolatency', 'tcpretrans', 'tcpconnect', 'oomkill', 'execsnoop', 'profile', 'cpu-throttling'] as const;

const KIND_NAME: Record<SignalKind, string> = {
  oom: 'OOM kills', syscalls: 'failing syscalls', runq: 'run-queue latency', io: 'block I/O latency',
  retrans: 'TCP retransmits', connects: 'failed TCP connects', execs: 'exec rate', cpu: 'CPU profile', throttle: 'CPU quota throttling',
};

/** The triage summary: what stands out ranked first, what was ruled out with figures, and the playbook to run next. */
export function summarizeTriage(input: TriageInput): Draft & { nextPlaybook?: NextPlaybook } {
  const ranked = rankSignals(triageSignals(input));
  const where = targetText(input.target);
  const window = formatDurationMs(input.durationMs);
  if (ranked.length === 0) return { headline: `Nothing measured on ${where}: no triage step completed`, findings: [] };
  const out = ranked.filter((s) => s.standsOut);
  const ruledOut = ranked.filter((s) => !s.standsOut);
  const nodes = new Set(ranked.map((s) => s.node)).size;
  const on = (s: Signal) => (nodes > 1 ? ` on ${s.node}` : '');

  const findings: Finding[] = [
    ...out.map((s, i): Finding => ({
      severity: s.severity,
      title: `${i === 0 ? 'Stands out' : `Also stands out (#${i + 1})`}${on(s)}: ${s.title}`,
      detail: s.detail,
      confidence: s.confidence,
      evidence: s.evidence,
      next: {
        commands: s.playbook ? [startCommand(s.playbook, input.target)] : [],
        remedy: s.playbook ? `Run the ${s.playbook} playbook on the same target: ${s.why}.` : s.why,
      },
    })),
    ...ruledOut.map((s): Finding => ({
      severity: 'info',
      title: `Ruled out${on(s)}: ${KIND_NAME[s.kind]} — ${s.figure}`,
      detail: s.detail,
      confidence: s.confidence,
      evidence: s.evidence,
    })),
  ];
  const top = out[0];
  if (!top) {
    // Silence is not a clean bill: a tool that did not run is said in the headline, not only in the notes.
    const measured = expandJoint(input.steps);
    const missing = TRIAGE_TOOLS.filter((tool) => !measured.some((st) => st.tool === tool && st.status === 'succeeded'));
    return {
      headline: `Nothing stands out on ${where} in ${window}: ${ruledOut.map((s) => s.figure).join('; ')}${missing.length ? `; not measured: ${missing.join(', ')}` : ''}`,
      findings,
    };
  }
  const lead = dominant(ranked);
  // The first that stands out and has a playbook to follow it; chained only when it is the one that dominates.
  const follow = out.find((s) => s.playbook !== null);
  const nextPlaybook = follow?.playbook ? { playbook: follow.playbook, why: follow.why, chain: lead === follow } : undefined;
  const others = out.length > 1 ? ` (and ${plural(out.length - 1, 'other signal')})` : '';
  // Whether it was started is the orchestrator's to say (the record's `next`): the chain may be refused.
  const next = nextPlaybook ? `; next: ${nextPlaybook.playbook}` : '';
  return {
    headline: `Stands out on ${where} in ${window}: ${top.title}${others}${next}`,
    findings,
    ...(nextPlaybook ? { nextPlaybook } : {}),
  };
}
