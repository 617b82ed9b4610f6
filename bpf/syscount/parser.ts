import { errnoName } from '../../src/core/errno.ts';
import type { SyscountResult, SyscountRow } from '../../src/core/tool-results.ts';
import { syscallName } from '../syscalls.ts';
import { readCountMap } from '../bpftrace-output.ts';
import type { ParseContext } from '../tool.ts';

/** The map the program fills; bpftrace prints it at SIGINT. */
export const MAP_NAME = '@failures';

/** Key parts in program order; comm is last and may itself contain commas, so it takes the rest of the key. */
const KEY = /^(-?\d+),(\d+),(\d+),(\d+),([\s\S]*)$/;

interface FailureKey {
  syscallNr: number;
  errno: number;
  pid: number;
  cgroupId: number;
  comm: string;
}

export function parseFailureKey(key: string): FailureKey {
  const m = KEY.exec(key);
  if (m === null) throw new Error(`unexpected ${MAP_NAME} key ${JSON.stringify(key)}: expected "id,errno,pid,cgroup,comm"`);
  const [, nr = '', errno = '', pid = '', cgroup = '', comm = ''] = m;
  return { syscallNr: Number(nr), errno: Number(errno), pid: Number(pid), cgroupId: Number(cgroup), comm };
}

function byCountThenKey(a: SyscountRow, b: SyscountRow): number {
  return (
    b.count - a.count ||
    cmp(a.syscall, b.syscall) ||
    cmp(a.errno, b.errno) ||
    a.pid - b.pid ||
    a.cgroupId - b.cgroupId ||
    cmp(a.comm, b.comm)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function parseSyscount(stdout: string, ctx: ParseContext): SyscountResult {
  const cgroupPaths = new Map<number, string | null>();
  const pathOf = (id: number): string | null => {
    if (!cgroupPaths.has(id)) cgroupPaths.set(id, ctx.cgroupPathOf(id));
    return cgroupPaths.get(id) ?? null;
  };
  const rows = Object.entries(readCountMap(stdout, MAP_NAME)).map(([key, count]): SyscountRow => {
    const k = parseFailureKey(key);
    return {
      syscall: syscallName(ctx.arch, k.syscallNr),
      errno: errnoName(k.errno),
      comm: k.comm,
      pid: k.pid,
      cgroupId: k.cgroupId,
      cgroup: pathOf(k.cgroupId),
      // A parser knows kernel facts only; naming the pod behind a cgroup needs the node's pod inventory.
      pod: null,
      count,
    };
  });
  rows.sort(byCountThenKey);
  return { rows, totalEvents: rows.reduce((sum, r) => sum + r.count, 0) };
}
