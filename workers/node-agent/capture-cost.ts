import { availableParallelism, cpus } from 'node:os';
import { costOf, type CaptureCost } from '../../src/core/capture-cost.ts';
import { readBpfProgStats, type BpfProgStats, type BpfStatsLease } from './bpf-stats.ts';
import { readProcessCpu, ticksToNs, type ProcessCpu } from './process-cpu.ts';
import type { SampleMoment } from './time-box.ts';

/** The node's online CPUs: BPF programs run on all of them, whatever CPUs the agent itself may use. */
export const nodeCpus = () => cpus().length || availableParallelism();

/** How long after the window's marker the time box looks every 100 ms (time-box.ts): loading ends within it. */
const LOAD_LOOKS_MS = 5_000;

/** What every measured cost needs besides its own figures. */
export interface CostContext {
  cpus: number;
  /** The node's budget for one capture (CAPTURE_COST_BUDGET). */
  budget?: number;
  procRoot?: string;
}

/**
 * Measures one bpftrace run from the looks the time box gives it (TimeBoxOptions.onSample): the process's CPU at
 * the window's opening, just before the stop signal and last before it exits, and its BPF programs' statistics at
 * every look, keeping each program's highest (the programs are closed while bpftrace stops, and gone with it). What
 * it uses after the last look (at most one look's interval, 25 ms) is not counted.
 */
export class BpftraceMeter {
  private first: ProcessCpu | null = null;
  /** The process's CPU when it had done loading, and when that was (epoch ms). */
  private attached: ProcessCpu | null = null;
  private attachedAt: number | null = null;
  private settled = false;
  /** The programs' ids at the last look, to see when loading stopped adding programs. */
  private progIds = '';
  private markerAt: number | null = null;
  private stopping: ProcessCpu | null = null;
  private last: ProcessCpu | null = null;
  private readonly progs = new Map<number, BpfProgStats>();

  constructor(
    private readonly ctx: CostContext,
    private readonly lease: BpfStatsLease,
  ) {}

  readonly sample = (pid: number, moment: SampleMoment): void => {
    const cpu = readProcessCpu(pid, this.ctx.procRoot);
    // A pid reused after the command exited is someone else's process.
    // A pid reused after the command exited is someone else's process.
    if (cpu && this.first !== null && cpu.startTicks !== this.first.startTicks) return;
    const progs = readBpfProgStats(pid, this.ctx.procRoot);
    if (this.lease.enabled) {
      for (const p of progs) {
        const had = this.progs.get(p.progId);
        if (!had || p.runTimeNs >= had.runTimeNs) this.progs.set(p.progId, p);
      }
    }
    if (!cpu) return;
    this.first ??= cpu;
    this.settle(cpu, moment, progs);
    if (moment === 'stopping') this.stopping ??= cpu;
    this.last = cpu;
  };

  /**
   * Where loading ends. bpftrace says it is attaching before it loads its programs (the verifier runs in its
   * process) and attaches them: the window's marker comes early. Loading has ended at the first of the window's
   * 100 ms looks that finds the same programs loaded as the look before, and either one of them has run (it is
   * attached) or bpftrace used under half a CPU since that look (an attached bpftrace mostly sleeps in epoll; on a
   * contended node a loading one may get less than a CPU, hence the run count first).
   */
  private settle(cpu: ProcessCpu, moment: SampleMoment, progs: readonly BpfProgStats[]): void {
    const at = Date.now();
    const ids = progs.map((p) => p.progId).sort((a, b) => a - b).join(',');
    const previous = this.progIds;
    this.progIds = ids;
    if (moment === 'attached' && this.attached === null) {
      this.attached = cpu;
      this.attachedAt = at;
      this.markerAt = at;
      return;
    }
    if (moment !== 'window' || this.settled || this.attached === null || this.attachedAt === null) return;
    const busy = ticksToNs(cpu.ticks - this.attached.ticks) / Math.max(1, (at - this.attachedAt) * 1e6);
    const loaded = ids !== '' && ids === previous;
    // Without statistics no program has a run count: then the CPU tells.
    const ran = progs.some((p) => p.runCount > 0);
    // Past the window's quick looks (programs never seen), loading is over whatever they said.
    if ((loaded && (ran || busy < 0.5)) || at - (this.markerAt ?? at) > LOAD_LOOKS_MS) this.settled = true;
    else {
      this.attached = cpu;
      this.attachedAt = at;
    }
  }

  /** The cost of the run, given when it started, opened its window, was told to stop and ended. */
  cost(run: { startedAt: Date; attachedAt: Date | null; stoppedAt: Date | null; finishedAt: Date }): CaptureCost {
    const notes: string[] = [];
    if (!this.lease.enabled && this.lease.reason) notes.push(this.lease.reason);
    if (this.last === null) notes.push('the capture process ended before its CPU time could be read');
    const progs = [...this.progs.values()];
    const bpf = this.lease.enabled && progs.length > 0;
    if (this.lease.enabled && progs.length === 0 && run.attachedAt) notes.push('no BPF program of the capture could be read');
    const ns = (c: ProcessCpu | null) => (c ? ticksToNs(c.ticks) : 0);
    const total = ns(this.last);
    const span = (from: Date | null, to: Date | null) => (from && to ? Math.max(0, to.getTime() - from.getTime()) : 0);
    // Each stretch's CPU is the difference of the looks around it; a look missing (it never attached, it ended by
    // itself) folds that stretch into the next one.
    const atAttach = this.attached ? ns(this.attached) : 0;
    const atStop = this.stopping ? ns(this.stopping) : total;
    // Between the marker and the stop, whatever the looks' clock said.
    const loaded =
      run.attachedAt && this.attachedAt !== null
        ? new Date(Math.min(Math.max(this.attachedAt, run.attachedAt.getTime()), (run.stoppedAt ?? run.finishedAt).getTime()))
        : run.attachedAt;
    const phases = {
      load: { ms: span(run.startedAt, loaded ?? run.stoppedAt ?? run.finishedAt), processCpuNs: atAttach },
      attached: { ms: span(loaded, run.stoppedAt ?? run.finishedAt), processCpuNs: Math.max(0, atStop - atAttach) },
      stop: { ms: span(run.stoppedAt, run.finishedAt), processCpuNs: Math.max(0, total - atStop) },
    };
    return costOf({
      bpfRunTimeNs: bpf ? progs.reduce((n, p) => n + p.runTimeNs, 0) : null,
      bpfRunCount: bpf ? progs.reduce((n, p) => n + p.runCount, 0) : null,
      processCpuNs: total,
      windowMs: span(run.startedAt, run.finishedAt),
      cpus: this.ctx.cpus,
      phases,
      bpfWindowMs: span(run.attachedAt, run.stoppedAt ?? run.finishedAt),
      ...(this.ctx.budget !== undefined ? { budget: this.ctx.budget } : {}),
      notes,
    });
  }
}

/** Why a native tool's figure is what it is: it runs inside the agent, and ftrace does its work in the kernel. */
export function nativeCostNotes(ftrace: boolean): string[] {
  const shared = "the agent's own CPU while the tool ran: other work of the agent in that time counts too";
  return ftrace ? [shared, "ftrace's in-kernel cost (the tracer running in every traced function) is not in it: the kernel accounts it to no process"] : [shared];
}

/**
 * Starts measuring a native tool, which runs inside the agent: the agent process's CPU (user and system, every
 * thread) from now to the call of the returned function, which gives the cost.
 */
export function startNativeMeter(ctx: CostContext, ftrace: boolean): () => CaptureCost {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu0);
    return costOf({
      bpfRunTimeNs: null,
      bpfRunCount: null,
      processCpuNs: (used.user + used.system) * 1000,
      windowMs: performance.now() - t0,
      cpus: ctx.cpus,
      ...(ctx.budget !== undefined ? { budget: ctx.budget } : {}),
      notes: nativeCostNotes(ftrace),
    });
  };
}
