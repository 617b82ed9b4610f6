import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * /proc/<pid>/stat, the one reader of it: the CPU a process has used, and its start time, which tells the process
 * that wrote a lock or a record from a later one that was given the same pid. The ftrace lock (funcgraph), the
 * bpf_stats records and the capture cost all go through here, so "is that process still there?" has one answer.
 */
export interface ProcStat {
  /** utime + stime, all threads, in clock ticks (USER_HZ). */
  ticks: number;
  /** starttime: clock ticks after boot at which the process started. */
  startTicks: number;
}

/**
 * proc(5): the command name (field 2) is in parentheses and may itself hold spaces and parentheses, so fields are
 * counted after the last ")". utime and stime are fields 14 and 15, starttime field 22. Null when it is not a stat line.
 */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  // Field 3 (state) is the first after the name.
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const field = (n: number) => (rest[n - 3] === undefined ? NaN : Number(rest[n - 3]));
  const utime = field(14);
  const stime = field(15);
  const start = field(22);
  if (![utime, stime, start].every(Number.isInteger)) return null;
  return { ticks: utime + stime, startTicks: start };
}

/** Errors that mean the process is not there (ESRCH: it exited while its directory was being read). */
const GONE = new Set(['ENOENT', 'ESRCH']);

/**
 * The process's stat now: 'gone' when it has no /proc entry, 'unknown' when the entry could not be read or made no
 * sense (denied by hidepid, say): a caller must not take that for an exit.
 */
export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | 'gone' | 'unknown' {
  let text: string;
  try {
    text = readFileSync(join(procRoot, String(pid), 'stat'), 'utf8');
  } catch (err) {
    return GONE.has((err as NodeJS.ErrnoException).code ?? '') ? 'gone' : 'unknown';
  }
  return parseProcStat(text) ?? 'unknown';
}

/** A process as a lock or a record names it: its pid, and its start time when that could be read. */
export interface ProcessRef {
  pid: number;
  startTicks: number | null;
}

/** The start time to record for `pid` (normally this process): null when it cannot be read. */
export function startTicksOf(pid: number, procRoot = '/proc'): number | null {
  const stat = readProcStat(pid, procRoot);
  return typeof stat === 'object' ? stat.startTicks : null;
}

/**
 * Whether the process a lock or record names still runs. A pid now held by a process that started at another time
 * is a different process: gone. A process that cannot be read counts as alive, because taking over a live holder's
 * lock or undoing its setting is worse than leaving a dead one's a while longer.
 */
export function isStillRunning(ref: ProcessRef, procRoot = '/proc'): boolean {
  const now = readProcStat(ref.pid, procRoot);
  if (now === 'gone') return false;
  if (now === 'unknown') return true;
  return ref.startTicks === null || now.startTicks === ref.startTicks;
}
