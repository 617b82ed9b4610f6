import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Pids in a cgroup (v2 or v1 directory), live at the moment of reading. */
export function cgroupPids(dir: string): number[] {
  return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
}

/** The comm of a pid, or null once it has exited. */
export function commOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Live pids whose comm is `comm`, in a cgroup. */
export const pidsNamed = (dir: string, comm: string) => cgroupPids(dir).filter((p) => commOf(p) === comm);

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat fields 14 and 15). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Polls `probe` until it returns null (the condition holds) or the time is up; returns the last answer. */
export async function waitUntil(probe: () => string | null | Promise<string | null>, timeoutMs: number, everyMs = 100): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = await probe();
    if (why === null || Date.now() > deadline) return why;
    await sleep(everyMs);
  }
}
