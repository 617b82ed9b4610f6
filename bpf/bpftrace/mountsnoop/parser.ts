import { errnoName } from '../../../src/core/errno.ts';
import { readCountMap } from '../../bpftrace-output.ts';
import type { ParseContext } from '../../tool.ts';
import { flagNames, type MountSyscall } from './flags.ts';
import type { MountCallRow, MountPathRow, MountsnoopResult, MountsnoopSummary } from './result.ts';

/** The maps the program fills; bpftrace prints them at SIGINT. */
export const CALLS_MAP = '@calls';
export const PATHS_MAP = '@paths';

/** Call codes as the program numbers them. */
const SYSCALL_BY_CODE: ReadonlyMap<number, MountSyscall> = new Map([
  [1, 'mount'],
  [2, 'umount2'],
  [3, 'open_tree'],
  [4, 'move_mount'],
]);

/** "call,flags,errno,pid,cgroup,comm": comm is last and may contain commas, so it takes the rest. */
const CALL_KEY = /^(\d+),(\d+),(\d+),(\d+),(\d+),([\s\S]*)$/;
/** "call,role,errno,path": the path is last and may contain commas. */
const PATH_KEY = /^(\d+),([01]),(\d+),([\s\S]*)$/;

export interface CallKey {
  syscall: MountSyscall;
  flags: bigint;
  /** 0 for success. */
  errno: number;
  pid: number;
  cgroupId: number;
  comm: string;
}

function syscallOf(code: string, key: string, map: string): MountSyscall {
  const syscall = SYSCALL_BY_CODE.get(Number(code));
  if (syscall === undefined) throw new Error(`unexpected ${map} key ${JSON.stringify(key)}: unknown call code ${code}`);
  return syscall;
}

export function parseCallKey(key: string): CallKey {
  const m = CALL_KEY.exec(key);
  if (m === null) throw new Error(`unexpected ${CALLS_MAP} key ${JSON.stringify(key)}: expected "call,flags,errno,pid,cgroup,comm"`);
  const [, code = '', flags = '', errno = '', pid = '', cgroup = '', comm = ''] = m;
  return { syscall: syscallOf(code, key, CALLS_MAP), flags: BigInt(flags), errno: Number(errno), pid: Number(pid), cgroupId: Number(cgroup), comm };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const cmpNullable = (a: string | null, b: string | null): number => (a === b ? 0 : a === null ? -1 : b === null ? 1 : cmp(a, b));

function byCountThenCall(a: MountCallRow, b: MountCallRow): number {
  return (
    b.count - a.count ||
    cmp(a.syscall, b.syscall) ||
    cmpNullable(a.errno, b.errno) ||
    cmp(a.flags.join('|'), b.flags.join('|')) ||
    a.pid - b.pid ||
    a.cgroupId - b.cgroupId ||
    cmp(a.comm, b.comm)
  );
}

function byCountThenPath(a: MountPathRow, b: MountPathRow): number {
  return b.count - a.count || cmp(a.syscall, b.syscall) || cmp(a.role, b.role) || cmp(a.path, b.path) || cmpNullable(a.errno, b.errno);
}

function summarize(calls: Array<{ key: CallKey; count: number }>): MountsnoopSummary {
  const s: MountsnoopSummary = { calls: 0, failed: 0, failuresByErrno: [], binds: 0, recursiveBinds: 0, unmounts: 0, lazyUnmounts: 0 };
  const byErrno = new Map<string, number>();
  for (const { key: k, count } of calls) {
    s.calls += count;
    if (k.errno !== 0) {
      s.failed += count;
      const name = errnoName(k.errno);
      byErrno.set(name, (byErrno.get(name) ?? 0) + count);
      continue;
    }
    const f = new Set(flagNames(k.syscall, k.flags));
    // A remount with MS_BIND changes an existing bind mount's flags; it creates nothing.
    const bind =
      (k.syscall === 'mount' && f.has('MS_BIND') && !f.has('MS_REMOUNT')) || (k.syscall === 'open_tree' && f.has('OPEN_TREE_CLONE'));
    if (bind) {
      if (f.has('MS_REC') || f.has('AT_RECURSIVE')) s.recursiveBinds += count;
      else s.binds += count;
    }
    if (k.syscall === 'umount2') {
      s.unmounts += count;
      if (f.has('MNT_DETACH')) s.lazyUnmounts += count;
    }
  }
  s.failuresByErrno = [...byErrno].map(([errno, count]) => ({ errno, count })).sort((a, b) => b.count - a.count || cmp(a.errno, b.errno));
  return s;
}

export function parseMountsnoop(stdout: string, maxPaths: number, ctx: ParseContext): MountsnoopResult {
  const cgroupPaths = new Map<number, string | null>();
  const pathOf = (id: number): string | null => {
    if (!cgroupPaths.has(id)) cgroupPaths.set(id, ctx.cgroupPathOf(id));
    return cgroupPaths.get(id) ?? null;
  };

  const calls = Object.entries(readCountMap(stdout, CALLS_MAP)).map(([key, count]) => ({ key: parseCallKey(key), count }));
  const rows = calls.map(({ key: k, count }): MountCallRow => ({
    syscall: k.syscall,
    flags: flagNames(k.syscall, k.flags),
    errno: k.errno === 0 ? null : errnoName(k.errno),
    pid: k.pid,
    comm: k.comm,
    cgroupId: k.cgroupId,
    cgroup: pathOf(k.cgroupId),
    count,
  }));
  rows.sort(byCountThenCall);

  const paths: MountPathRow[] = [];
  for (const [key, count] of Object.entries(readCountMap(stdout, PATHS_MAP))) {
    const m = PATH_KEY.exec(key);
    if (m === null) throw new Error(`unexpected ${PATHS_MAP} key ${JSON.stringify(key)}: expected "call,role,errno,path"`);
    const [, code = '', role = '', errno = '', path = ''] = m;
    const syscall = syscallOf(code, key, PATHS_MAP);
    // No path given (NULL source of a remount, umount2's absent source, an fd-based move_mount): nothing to show.
    if (path === '') continue;
    paths.push({ syscall, role: role === '0' ? 'target' : 'source', path, errno: errno === '0' ? null : errnoName(Number(errno)), count });
  }
  paths.sort(byCountThenPath);

  return { rows, paths: paths.slice(0, maxPaths), distinctPaths: paths.length, summary: summarize(calls) };
}
