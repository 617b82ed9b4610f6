import { readCountMap } from '../../bpftrace-output.ts';
import type { CacheCounts, CachestatResult } from './result.ts';

/** Counter maps keyed by second (@accessed…) and by "pid,comm" (@accessed_by…); @seconds is the capture's length. */
export const COUNTERS = ['accessed', 'added', 'dirtied', 'buffers'] as const;
type Raw = CacheCounts['raw'];

const PROC_KEY = /^(\d+),(.*)$/s;

const ratio = (hits: number, misses: number): number | null => (hits + misses === 0 ? null : Math.round((hits / (hits + misses)) * 1e4) / 1e4);

/**
 * cachestat's arithmetic (bcc tools/cachestat.py and libbpf-tools/cachestat.c), on one set of raw counters: buffer
 * dirtying is taken off accesses and additions, and when misses exceed accesses (readahead added more than was
 * read) all accesses count as misses.
 */
export function cacheCounts(raw: Raw): CacheCounts {
  const accesses = Math.max(0, raw.accessed - raw.buffers);
  let misses = Math.max(0, raw.added - raw.buffers);
  let hits = accesses - misses;
  if (hits < 0) {
    misses = accesses;
    hits = 0;
  }
  return { hits, misses, dirties: raw.dirtied, hitRatio: ratio(hits, misses), raw };
}

/**
 * The capture's total: the arithmetic per process, summed. Over all tasks at once, one process's buffer dirtying
 * would cancel another's misses: on a 1 KiB-block ext4, writing a page dirties four buffers, and a writer's
 * 16,384 mark_buffer_dirty calls for 16 MiB wiped out a reader's 4,096 misses in the recording ext4-rounds.json.
 */
function totalOf(procs: CacheCounts[], raw: Raw): CacheCounts {
  const hits = procs.reduce((s, p) => s + p.hits, 0);
  const misses = procs.reduce((s, p) => s + p.misses, 0);
  return { hits, misses, dirties: raw.dirtied, hitRatio: ratio(hits, misses), raw };
}

function scalar(stdout: string, map: string): number | null {
  let value: number | null = null;
  for (const line of stdout.split('\n')) {
    if (!line.includes(`"${map}"`)) continue;
    const doc = JSON.parse(line) as { type?: string; data?: Record<string, unknown> };
    const v = doc.type === 'map' ? doc.data?.[map] : undefined;
    if (typeof v === 'number') value = v;
  }
  return value;
}

const zero = (): Raw => ({ accessed: 0, added: 0, dirtied: 0, buffers: 0 });

export function parseCachestat(stdout: string, maxProcesses: number): CachestatResult {
  const seconds = new Map<number, Raw>();
  const procs = new Map<string, { pid: number; comm: string; raw: Raw }>();
  const total = zero();
  for (const c of COUNTERS) {
    for (const [key, n] of Object.entries(readCountMap(stdout, `@${c}`))) {
      if (!/^\d+$/.test(key)) throw new Error(`unexpected @${c} key ${JSON.stringify(key)}: expected a second`);
      const s = Number(key);
      let raw = seconds.get(s);
      if (raw === undefined) seconds.set(s, (raw = zero()));
      raw[c] += n;
      total[c] += n;
    }
    for (const [key, n] of Object.entries(readCountMap(stdout, `@${c}_by`))) {
      const m = PROC_KEY.exec(key);
      if (m === null) throw new Error(`unexpected @${c}_by key ${JSON.stringify(key)}: expected "pid,comm"`);
      let p = procs.get(key);
      if (p === undefined) procs.set(key, (p = { pid: Number(m[1]), comm: m[2] ?? '', raw: zero() }));
      p.raw[c] += n;
    }
  }
  // Every second up to the last one, so a quiet second shows as zeros rather than missing.
  const last = Math.max(scalar(stdout, '@seconds') ?? -1, ...seconds.keys());
  const intervals = Array.from({ length: last + 1 }, (_, second) => ({ second, ...cacheCounts(seconds.get(second) ?? zero()) }));
  const processes = [...procs.values()].map((p) => ({ pid: p.pid, comm: p.comm, ...cacheCounts(p.raw) }));
  processes.sort((a, b) => b.misses - a.misses || b.raw.accessed - a.raw.accessed || b.dirties - a.dirties || a.pid - b.pid);
  return { intervals, total: totalOf(processes, total), processes: processes.slice(0, maxProcesses), distinctProcesses: processes.length };
}
