import { errnoName } from '../../../src/core/errno.ts';
import { readCountMap } from '../../bpftrace-output.ts';
import type { ParseContext } from '../../tool.ts';
import type { OpenPath, OpensnoopResult, OpensnoopRow } from './result.ts';

/** The maps the program fills; bpftrace prints them at SIGINT. */
export const OPENS_MAP = '@opens';
export const PATHS_MAP = '@paths';

/** "errno,pid,cgroup,<text>": the text (comm or path) is last because it may contain commas; errno 0 = success. */
const KEY = /^(\d+),(\d+),(\d+),(.*)$/s;

export interface OpenKey {
  errno: number;
  pid: number;
  cgroupId: number;
  text: string;
}

export function parseOpenKey(map: string, key: string): OpenKey {
  const m = KEY.exec(key);
  if (m === null) throw new Error(`unexpected ${map} key ${JSON.stringify(key)}: expected "errno,pid,cgroup,${map === OPENS_MAP ? 'comm' : 'path'}"`);
  const [, errno = '', pid = '', cgroup = '', text = ''] = m;
  return { errno: Number(errno), pid: Number(pid), cgroupId: Number(cgroup), text };
}

export interface OpensnoopLimits {
  maxRows: number;
  pathsPerRow: number;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function byCountThenKey(a: { row: OpensnoopRow; k: OpenKey }, b: { row: OpensnoopRow; k: OpenKey }): number {
  return b.row.count - a.row.count || a.k.errno - b.k.errno || a.k.pid - b.k.pid || a.k.cgroupId - b.k.cgroupId || cmp(a.k.text, b.k.text);
}

export function parseOpensnoop(stdout: string, limits: OpensnoopLimits, ctx: ParseContext): OpensnoopResult {
  const cgroupPaths = new Map<number, string | null>();
  const pathOf = (id: number): string | null => {
    if (!cgroupPaths.has(id)) cgroupPaths.set(id, ctx.cgroupPathOf(id));
    return cgroupPaths.get(id) ?? null;
  };
  const keyed = Object.entries(readCountMap(stdout, OPENS_MAP)).map(([key, count]) => {
    const k = parseOpenKey(OPENS_MAP, key);
    const row: OpensnoopRow = {
      errno: k.errno === 0 ? null : errnoName(k.errno),
      comm: k.text,
      pid: k.pid,
      cgroupId: k.cgroupId,
      cgroup: pathOf(k.cgroupId),
      // A parser knows kernel facts only; naming the pod behind a cgroup needs the node's pod inventory.
      pod: null,
      count,
      paths: [],
      distinctPaths: 0,
    };
    return { k, row };
  });
  keyed.sort(byCountThenKey);
  attachPaths(keyed, stdout, limits.pathsPerRow);

  let totalFailures = 0;
  let totalSuccesses = 0;
  const byErrno = new Map<string, number>();
  for (const { row } of keyed) {
    if (row.errno === null) totalSuccesses += row.count;
    else {
      totalFailures += row.count;
      byErrno.set(row.errno, (byErrno.get(row.errno) ?? 0) + row.count);
    }
  }
  return {
    rows: keyed.slice(0, limits.maxRows).map((r) => r.row),
    distinctRows: keyed.length,
    totalFailures,
    totalSuccesses,
    byErrno: [...byErrno].sort(([ea, a], [eb, b]) => b - a || cmp(ea, eb)).map(([errno, count]) => ({ errno, count })),
  };
}

/**
 * Gives each row its paths. @paths does not know comm, so the paths of (errno, pid, cgroup) go to that process's
 * row with the most opens (a process that exec'ed has one row per comm). Paths whose row is missing (its @opens key
 * was dropped at the map's key limit) are left out.
 */
function attachPaths(keyed: readonly { k: OpenKey; row: OpensnoopRow }[], stdout: string, pathsPerRow: number): void {
  const rowOf = new Map<string, OpensnoopRow>();
  // Sorted by count already: the first row seen for a process is its largest.
  for (const { k, row } of keyed) {
    const id = `${k.errno},${k.pid},${k.cgroupId}`;
    if (!rowOf.has(id)) rowOf.set(id, row);
  }
  const found = new Map<OpensnoopRow, OpenPath[]>();
  for (const [key, count] of Object.entries(readCountMap(stdout, PATHS_MAP))) {
    const p = parseOpenKey(PATHS_MAP, key);
    const row = rowOf.get(`${p.errno},${p.pid},${p.cgroupId}`);
    if (row === undefined) continue;
    const list = found.get(row) ?? [];
    list.push({ path: p.text, count });
    found.set(row, list);
  }
  for (const [row, paths] of found) {
    paths.sort((a, b) => b.count - a.count || cmp(a.path, b.path));
    row.paths = paths.slice(0, pathsPerRow);
    row.distinctPaths = paths.length;
  }
}
