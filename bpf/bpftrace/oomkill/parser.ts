import { readCountMap } from '../../bpftrace-output.ts';
import type { ParseContext } from '../../tool.ts';
import { bpftraceMapLines } from '../../raw-lines.ts';
import { describeDurationMs } from '../../../src/core/duration.ts';
import type { EarlyEnd, OomKill, OomkillResult, OomTrigger } from './result.ts';

/** The maps the program fills; bpftrace prints them at SIGINT. */
export const VICTIMS_MAP = '@victims';
export const TRIGGERS_MAP = '@triggers';
/** Set by the program when it ended itself after the first kill: milliseconds since the start. */
export const ENDED_MAP = '@ended';

/** "atMs,pid,uid,total_vm,anon_rss,file_rss,shmem_rss,pgtables,oom_score_adj,comm": comm last, takes the rest. */
const VICTIM_KEY = /^(\d+),(\d+),(\d+),(\d+),(\d+),(\d+),(\d+),(\d+),(-?\d+),([\s\S]*)$/;
/** "atMs,victim pid,pid,tid,cgroup,comm". */
const TRIGGER_KEY = /^(\d+),(\d+),(\d+),(\d+),(\d+),([\s\S]*)$/;

export function parseOomkill(stdout: string, ctx: ParseContext, endAfterMs = 0): OomkillResult {
  const rawLine = bpftraceMapLines(stdout);
  const triggers = new Map<string, Omit<OomTrigger, 'cgroup'>>();
  for (const key of Object.keys(readCountMap(stdout, TRIGGERS_MAP))) {
    const m = TRIGGER_KEY.exec(key);
    if (m === null) throw new Error(`unexpected ${TRIGGERS_MAP} key ${JSON.stringify(key)}: expected "atMs,victim,pid,tid,cgroup,comm"`);
    const [, at = '', victim = '', pid = '', tid = '', cgroup = '', comm = ''] = m;
    triggers.set(`${at},${victim}`, { pid: Number(pid), tid: Number(tid), comm, cgroupId: Number(cgroup) });
  }

  let total = 0;
  const kills = Object.entries(readCountMap(stdout, VICTIMS_MAP)).map(([key, count]): OomKill => {
    const m = VICTIM_KEY.exec(key);
    if (m === null) {
      throw new Error(`unexpected ${VICTIMS_MAP} key ${JSON.stringify(key)}: expected "atMs,pid,uid,total_vm,anon_rss,file_rss,shmem_rss,pgtables,oom_score_adj,comm"`);
    }
    const [, at = '', pid = '', uid = '', totalVm = '', anon = '', file = '', shmem = '', pgtables = '', adj = '', comm = ''] = m;
    // One kill per key (a victim dies once); a count above 1 would be two kills of one pid in one millisecond.
    total += count;
    const t = triggers.get(`${at},${pid}`);
    return {
      atMs: Number(at),
      pid: Number(pid),
      comm,
      uid: Number(uid),
      totalVmKb: Number(totalVm),
      anonRssKb: Number(anon),
      fileRssKb: Number(file),
      shmemRssKb: Number(shmem),
      pgtablesKb: Number(pgtables),
      oomScoreAdj: Number(adj),
      trigger: t === undefined ? null : { ...t, cgroup: ctx.cgroupPathOf(t.cgroupId) },
      ...optional(rawLine(VICTIMS_MAP, key)),
    };
  });
  kills.sort((a, b) => a.atMs - b.atMs || a.pid - b.pid);
  return { kills, total, endedEarly: earlyEnd(stdout, endAfterMs) };
}

const optional = <T>(raw: T | null) => (raw === null ? {} : { raw });

/** The program's own end, said in words; null when the window ran out (or SIGINT came) first. */
function earlyEnd(stdout: string, endAfterMs: number): EarlyEnd | null {
  // A scalar map prints as {"type": "map", "data": {"@ended": 4123}}.
  const doc = stdout.split('\n').filter((l) => l.includes(`"${ENDED_MAP}":`)).at(-1);
  if (doc === undefined) return null;
  const atMs = (JSON.parse(doc) as { data: Record<string, unknown> }).data[ENDED_MAP];
  if (typeof atMs !== 'number' || !Number.isSafeInteger(atMs) || atMs < 0) throw new Error(`unexpected ${ENDED_MAP}: ${doc.slice(0, 80)}`);
  return {
    atMs,
    reason: `ended by itself ${describeDurationMs(endAfterMs)} after the first OOM kill, ${describeDurationMs(atMs)} into the window: it had seen what it was waiting for`,
  };
}
