import { z } from 'zod';

/**
 * What one capture cost the node it ran on, measured by its agent (workers/node-agent/capture-cost.ts), never
 * estimated: the run time of the capture's BPF programs from the kernel's own statistics (`run_time_ns`, counted
 * while `kernel.bpf_stats_enabled` is on) plus the CPU time of the capture process (bpftrace: its utime + stime; a
 * native tool: the agent's), over the span the capture was on the node.
 */

/** One stretch of a bpftrace capture: loading (LLVM compile, verifier, attach), the window itself, printing and exit. */
export const CostPhase = z.object({
  ms: z.number().min(0),
  /** The capture process's CPU in this stretch. */
  processCpuNs: z.number().int().min(0),
});
export type CostPhase = z.infer<typeof CostPhase>;

export const CaptureCost = z.object({
  /**
   * The share of all the node's CPUs the capture took while it was there: (bpfRunTimeNs + processCpuNs) /
   * (windowMs × cpus), 0–1. Loading and printing count, so a short capture of a program that takes long to compile
   * costs a larger share than a long one.
   */
  nodeCpuShare: z.number().min(0),
  /** The same CPU time as a share of one CPU over the window (0.02: a fiftieth of one CPU's time). */
  cpuShareOfOneCpu: z.number().min(0),
  /** Run time of the capture's BPF programs, all CPUs together; null when the kernel's statistics could not be read (the notes say why), or no BPF ran. */
  bpfRunTimeNs: z.number().int().min(0).nullable(),
  /** How many times they ran (samples taken, events seen); null as bpfRunTimeNs. */
  bpfRunCount: z.number().int().min(0).nullable(),
  processCpuNs: z.number().int().min(0),
  /** What the shares are over: from the capture process's start to its exit (or the native tool's run). */
  windowMs: z.number().min(0),
  /** The node's online CPUs. */
  cpus: z.number().int().min(1),
  /**
   * While the probes were attached only: the BPF programs' run time over the window plus the process's CPU once
   * loaded over that stretch, as a share of the node. What a capture that stayed attached would cost, the figure
   * continuous profilers quote; absent for native tools.
   */
  attachedNodeCpuShare: z.number().min(0).optional(),
  /**
   * bpftrace only: from the probes' attach (its marker) to the stop, the window the capture actually ran; the
   * attached phase starts when the CPU look at the attach was taken, a little later.
   */
  bpfWindowMs: z.number().min(0).optional(),
  /** bpftrace's stretches: where its own CPU went. */
  phases: z.object({ load: CostPhase, attached: CostPhase, stop: CostPhase }).optional(),
  /** The node's budget for one capture (its agent's CAPTURE_COST_BUDGET), as a share of the node. */
  budget: z.number().gt(0).max(1).optional(),
  /** The capture's overhead while attached (attachedNodeCpuShare) is over the budget; never for a native tool. See judgedShare. */
  overBudget: z.boolean().optional(),
  /** What the figure does not include, in words (ftrace's in-kernel cost; statistics the kernel would not give). */
  notes: z.array(z.string()).default([]),
});
export type CaptureCost = z.infer<typeof CaptureCost>;

/** The raw figures a cost is made of; the shares follow from them (costOf). */
export interface CostFigures {
  bpfRunTimeNs: number | null;
  bpfRunCount: number | null;
  processCpuNs: number;
  windowMs: number;
  cpus: number;
  phases?: CaptureCost['phases'];
  /**
   * How long the BPF programs could run: from the window's marker to the stop (they attach during the end of
   * loading, so its stretch is longer than the attached phase's).
   */
  bpfWindowMs?: number;
  budget?: number;
  notes?: string[];
}

/** Shares of a few parts per million are real (a 99 Hz profile's BPF): kept to 7 significant digits, no more. */
const round = (x: number) => Number(x.toPrecision(7));

/**
 * What a budget is held against: the overhead the node feels while a bpftrace capture's probes are attached.
 * - Loading (compiling and verifying the program, about half a second of one CPU for any bpftrace program) is a
 *   fixed cost of every capture, shown in its cost but not judged: held against a 5 s window it alone would exceed a
 *   5% budget, and a finding on every capture is noise.
 * - A native tool runs inside the agent, whose CPU over the tool's run includes whatever else the agent did meanwhile
 *   (parsing another capture's output): recorded, never judged — it would blame a procfs reader for triage's parsing.
 * undefined: nothing to judge.
 */
export function judgedShare(c: Pick<CaptureCost, 'attachedNodeCpuShare'>): number | undefined {
  return c.attachedNodeCpuShare;
}

/** The cost of a capture from its measured figures: shares over the window, and whether it is over budget. */
export function costOf(f: CostFigures): CaptureCost {
  const windowNs = Math.max(1, f.windowMs) * 1e6;
  const cpuNs = (f.bpfRunTimeNs ?? 0) + f.processCpuNs;
  const nodeCpuShare = round(cpuNs / (windowNs * f.cpus));
  const attached = f.phases?.attached;
  // Two rates added, each over the stretch it was counted in: the programs' and the process's once loaded.
  const attachedNodeCpuShare =
    attached && attached.ms > 0
      ? round(((f.bpfRunTimeNs ?? 0) / (Math.max(attached.ms, f.bpfWindowMs ?? 0) * 1e6) + attached.processCpuNs / (attached.ms * 1e6)) / f.cpus)
      : undefined;
  return {
    nodeCpuShare,
    cpuShareOfOneCpu: round(cpuNs / windowNs),
    bpfRunTimeNs: f.bpfRunTimeNs,
    bpfRunCount: f.bpfRunCount,
    processCpuNs: f.processCpuNs,
    windowMs: Math.round(f.windowMs),
    cpus: f.cpus,
    ...(attachedNodeCpuShare !== undefined ? { attachedNodeCpuShare } : {}),
    ...(f.bpfWindowMs !== undefined ? { bpfWindowMs: Math.round(f.bpfWindowMs) } : {}),
    ...(f.phases ? { phases: f.phases } : {}),
    ...(f.budget !== undefined ? { budget: f.budget, overBudget: (judgedShare({ attachedNodeCpuShare }) ?? 0) > f.budget } : {}),
    notes: f.notes ?? [],
  };
}

/** "0.31%", "0.004%", "12%": a share of the node for people; small shares keep two significant digits. */
export function formatCostShare(share: number): string {
  const pct = share * 100;
  if (pct === 0) return '0%';
  if (pct >= 10) return `${pct.toFixed(0)}%`;
  if (pct >= 1) return `${pct.toFixed(1)}%`;
  return `${Number(pct.toPrecision(2))}%`;
}

const seconds = (ns: number) => (ns >= 1e9 ? `${(ns / 1e9).toFixed(2)} s` : `${Math.round(ns / 1e6)} ms`);

/**
 * "0.85 s of CPU over 7.0 s on 2 CPUs: the capture process 0.82 s (loading 0.66 s, attached 10 ms, stopping
 * 0.18 s), its BPF programs 29 ms in 877 runs": where a cost came from, in words.
 */
export function describeCost(c: CaptureCost): string {
  const parts = [`the capture process ${seconds(c.processCpuNs)}`];
  if (c.phases) {
    parts[0] += ` (loading ${seconds(c.phases.load.processCpuNs)}, attached ${seconds(c.phases.attached.processCpuNs)}, stopping ${seconds(c.phases.stop.processCpuNs)})`;
  }
  if (c.bpfRunTimeNs !== null) parts.push(`its BPF programs ${seconds(c.bpfRunTimeNs)} in ${c.bpfRunCount ?? 0} runs`);
  const total = c.processCpuNs + (c.bpfRunTimeNs ?? 0);
  return `${seconds(total)} of CPU over ${(c.windowMs / 1000).toFixed(1)} s on ${c.cpus} CPU${c.cpus === 1 ? '' : 's'}: ${parts.join(', ')}`;
}
