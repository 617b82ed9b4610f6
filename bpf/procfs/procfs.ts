import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { NativeRunContext } from '../tool.ts';

/** Small procfs readers shared by the collectors. Every read goes through a procRoot so tests can use a stand-in. */

/** Highest pid Linux hands out (PID_MAX_LIMIT on 64-bit); also what makes a pid safe to put in an argv. */
export const PID_MAX = 4_194_304;
export const Pid = z.number().int().min(1).max(PID_MAX);

/** The `pids` parameter every collector takes: the processes the previous step found failing. */
export const FocusPids = z.array(Pid).max(64);

/** Limits shared by the collectors: instant readers (they ignore the duration) with a bounded run time. */
export const COLLECTOR_LIMITS = {
  minDurationMs: 0,
  maxDurationMs: 120_000,
  defaultDurationMs: 0,
  maxOutputBytes: 16 * 1024 * 1024,
  // The agent's backstop for a native tool is duration + stop grace, and collectors run with duration 0.
  stopGraceMs: 30_000,
} as const;

/** At most this many processes are taken from the scope's cgroups, all of them together. */
export const MAX_CGROUP_PIDS = 256;

/** How the collector picked the processes it looked at. */
export const Targets = z.object({
  /** Given pids, the scope's pid and the processes of the scope's cgroups, deduplicated, ascending. */
  requested: z.array(z.number().int()),
  alive: z.array(z.number().int()),
  /** Requested but gone (or a zombie) by the time the collector ran. */
  exited: z.array(z.number().int()),
  /** Paths below the cgroup v2 root of the scope's cgroups that still exist, in scope order; empty without a cgroup scope. */
  cgroups: z.array(z.string()),
});
export type Targets = z.infer<typeof Targets>;

export type PidRef = number | 'self';

/** Why a read was skipped: the errno code (ENOENT/ESRCH/EINVAL when the process exited, EACCES/EPERM when denied). */
export type Skip = { pid: PidRef; what: string; code: string };

function errnoCode(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : null;
}

/**
 * Reads below procRoot. A process may exit between any two reads, and some (the init of a sandbox, say) refuse to
 * be inspected: such reads give null and are remembered in `skipped` for the raw output. Errors that are not
 * system errors are bugs and are thrown.
 */
export class ProcReader {
  readonly skipped: Skip[] = [];

  constructor(readonly root: string) {}

  path(pid: PidRef, rel: string): string {
    return join(this.root, String(pid), rel);
  }

  private attempt<T>(pid: PidRef, what: string, fn: () => T): T | null {
    try {
      return fn();
    } catch (err) {
      const code = errnoCode(err);
      if (code === null) throw err;
      if (this.skipped.length < 1000) this.skipped.push({ pid, what, code });
      return null;
    }
  }

  /** Numeric entries of procRoot (thread-group leaders), ascending. */
  pids(): number[] {
    const names = this.attempt('self', 'list', () => readdirSync(this.root)) ?? [];
    return names
      .filter((n) => /^[1-9]\d*$/.test(n))
      .map(Number)
      .filter((n) => n <= PID_MAX)
      .sort((a, b) => a - b);
  }

  text(pid: PidRef, rel: string): string | null {
    return this.attempt(pid, rel, () => readFileSync(this.path(pid, rel), 'utf8'));
  }

  link(pid: PidRef, rel: string): string | null {
    return this.attempt(pid, rel, () => readlinkSync(this.path(pid, rel)));
  }

  dir(pid: PidRef, rel: string): string[] | null {
    return this.attempt(pid, rel, () => readdirSync(this.path(pid, rel)));
  }

  /** The namespace inode of `/proc/<pid>/ns/<kind>` ("mnt:[4026531841]" → 4026531841). */
  ns(pid: PidRef, kind: 'mnt' | 'user'): number | null {
    const link = this.link(pid, `ns/${kind}`);
    const m = link === null ? null : /^\w+:\[(\d+)\]$/.exec(link);
    return m ? Number(m[1]) : null;
  }

  comm(pid: PidRef): string {
    return this.text(pid, 'comm')?.trimEnd() ?? '?';
  }

  /** Running, and not a zombie (a zombie's mounts and fds are gone already). */
  alive(pid: number): boolean {
    const stat = this.attempt(pid, 'stat', () => readFileSync(this.path(pid, 'stat'), 'utf8'));
    if (stat === null) return false;
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  }

  /** An integer file below procRoot such as `sys/fs/mount-max`; null when missing or unreadable. */
  sysctl(rel: string): number | null {
    const text = this.attempt('self', rel, () => readFileSync(join(this.root, rel), 'utf8'));
    if (text === null) return null;
    const n = Number(text.trim());
    return Number.isSafeInteger(n) ? n : null;
  }
}

/**
 * The processes to focus on: the given pids, and the scope's processes: those of its cgroups (those exact cgroups,
 * as the bpftrace tools' kernel filter; at most MAX_CGROUP_PIDS of them, taken in turn from each cgroup so a crowded
 * container does not crowd out the others of the pod), narrowed to the scope's pid when it has one. As in the
 * kernel filters, the pid narrows the cgroups, never adds to them: a pid outside the target's pods is not looked at.
 */
export function resolveTargets(reader: ProcReader, pids: readonly number[] | undefined, ctx: NativeRunContext): Targets {
  const wanted = new Set<number>(pids ?? []);
  const pid = ctx.scope.pid > 0 ? ctx.scope.pid : null;
  if (pid !== null && ctx.scope.cgroupIds.length === 0) wanted.add(pid);
  const cgroups: string[] = [];
  const members: number[][] = [];
  for (const id of new Set(ctx.scope.cgroupIds)) {
    const path = ctx.cgroupPathOf(id);
    if (path === null) continue;
    let procs: string;
    try {
      procs = readFileSync(join(ctx.cgroupRoot, path, 'cgroup.procs'), 'utf8');
    } catch (err) {
      if (errnoCode(err) === null) throw err;
      continue; // removed since the path was looked up
    }
    cgroups.push(path);
    members.push(procs.split('\n').filter((l) => /^\d+$/.test(l)).map(Number).filter((p) => p >= 1 && p <= PID_MAX));
  }
  if (pid !== null && members.some((m) => m.includes(pid))) wanted.add(pid);
  let taken = 0;
  for (let i = 0; pid === null && taken < MAX_CGROUP_PIDS && members.some((m) => i < m.length); i++) {
    for (const m of members) {
      const p = m[i];
      if (p !== undefined && taken < MAX_CGROUP_PIDS) {
        wanted.add(p);
        taken++;
      }
    }
  }
  const requested = [...wanted].sort((a, b) => a - b);
  const alive = requested.filter((p) => reader.alive(p));
  return { requested, alive, exited: requested.filter((p) => !alive.includes(p)), cgroups };
}

/** One line of /proc/<pid>/mountinfo. */
export interface MountEntry {
  id: number;
  parent: number;
  /** "major:minor" of the filesystem (st_dev). */
  dev: string;
  /** The directory of the filesystem this mount shows (not "/" for bind mounts). */
  root: string;
  mountPoint: string;
  options: string;
  fsType: string;
  source: string;
  superOptions: string;
}

/** The kernel escapes space, tab, newline and backslash in paths as octal (`\040`). */
export function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses mountinfo (proc(5)): `id parent maj:min root mountpoint options [optional...] - fstype source superopts`. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 10 || sep < 0 || f.length < sep + 3) continue;
    out.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      dev: f[2] ?? '',
      root: unescapeMountPath(f[3] ?? ''),
      mountPoint: unescapeMountPath(f[4] ?? ''),
      options: f[5] ?? '',
      fsType: f[sep + 1] ?? '',
      source: unescapeMountPath(f[sep + 2] ?? ''),
      superOptions: f[sep + 3] ?? '',
    });
  }
  return out;
}

/** Counts lines without splitting: a namespace with a mount leak can have a hundred thousand of them. */
export function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return text.length > 0 && !text.endsWith('\n') ? n + 1 : n;
}

/** Lets the agent's event loop run between processes (heartbeats), and stops at once when the capture is aborted. */
export async function breathe(signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  await new Promise((resolve) => setImmediate(resolve));
  signal.throwIfAborted();
}

/** A share rounded to 4 decimals; 0 when the whole is 0. */
export function share(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0;
}
