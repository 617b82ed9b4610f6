import { readdirSync, readFileSync } from 'node:fs';

/** Live (not zombie) processes of a process group, with their command names: a capture runs in its own group, led by `timeout`. */
export function processGroup(pgid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // The comm (field 2) may hold spaces and parentheses: count from its closing parenthesis.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') out.push({ pid: Number(name), comm });
  }
  return out;
}

/** Polls until the group is empty: how long that took, or null if some of it was still there after `limitMs`. */
export async function timeUntilGone(pgid: number, limitMs: number): Promise<number | null> {
  const t0 = performance.now();
  while (performance.now() - t0 < limitMs) {
    if (processGroup(pgid).length === 0) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 20));
  }
  return null;
}
