import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A process's CPU so far, from /proc/<pid>/stat: all its threads, user and system. */
export interface ProcessCpu {
  /** utime + stime, in clock ticks. */
  ticks: number;
  /** The process's start time (ticks after boot): tells a reused pid from the process first seen. */
  startTicks: number;
}

/**
 * /proc/<pid>/stat (proc(5)): the command name is in parentheses and may itself hold spaces and parentheses, so
 * fields are counted after the last ")". utime and stime are fields 14 and 15, starttime field 22.
 */
export function parseProcStat(text: string): ProcessCpu | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  // Field 3 (state) is the first after the name.
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const field = (n: number) => Number(rest[n - 3]);
  const utime = field(14);
  const stime = field(15);
  const start = field(22);
  if (![utime, stime, start].every(Number.isFinite)) return null;
  return { ticks: utime + stime, startTicks: start };
}

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
  try {
    return parseProcStat(readFileSync(`${procRoot}/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}
