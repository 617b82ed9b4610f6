import { z } from 'zod';
import type { NativeTool } from '../../tool.ts';
import { COLLECTOR_LIMITS, FocusPids } from '../procfs.ts';
import { readCpuThrottling } from './reader.ts';
import { CpuThrottlingResult } from './result.ts';

export const CpuThrottlingParams = z
  .object({
    /** Processes to follow besides the target's own (their CPU cgroups are read too). */
    pids: FocusPids.optional(),
  })
  .strict();
export type CpuThrottlingParams = z.output<typeof CpuThrottlingParams>;

export const cpuThrottling: NativeTool<typeof CpuThrottlingParams, CpuThrottlingResult> = {
  kind: 'native',
  name: 'cpu-throttling',
  description:
    "CPU quota throttling of the target's cgroups over the window: periods, throttled periods and time, the quota as CPUs, usage against it and the busiest processes (cgroup v1 cpu or v2 cpu.max).",
  params: CpuThrottlingParams,
  requires: [],
  variants: [{ name: 'procfs', requires: [], description: 'reads cpu.stat and the quota of each CPU controller cgroup (v1 cfs_quota_us or v2 cpu.max) at the start and the end of the window' }],
  // Not instant like the other collectors: throttling is a rate, read as the difference of two readings.
  limits: { ...COLLECTOR_LIMITS, minDurationMs: 1_000, defaultDurationMs: 5_000, maxDurationMs: 60_000, stopGraceMs: 10_000 },
  result: CpuThrottlingResult,
  run: readCpuThrottling,
};
