import { execFileSync } from 'node:child_process';
import { readProcStat, type ProcStat } from '../../bpf/procfs/process-stat.ts';

/** A process's CPU so far (utime + stime of all its threads) and its start time, from /proc/<pid>/stat. */
export type ProcessCpu = ProcStat;

let clockTicks: number | null = null;

/** USER_HZ, what /proc counts CPU time in: 100 on every Linux architecture the agent runs on, asked once all the same. */
export function clockTicksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export const ticksToNs = (ticks: number) => Math.round((ticks * 1e9) / clockTicksPerSecond());

/** The process's CPU now; null once it is gone. */
export function readProcessCpu(pid: number, procRoot = '/proc'): ProcessCpu | null {
  const stat = readProcStat(pid, procRoot);
  return typeof stat === 'object' ? stat : null;
}
