import { errnoName } from '../../../src/core/errno.ts';
import { syscallName } from '../../syscalls.ts';
import { readCountMap } from '../../bpftrace-output.ts';
import type { FailingFile, FileResolution } from '../../failing-file.ts';
import type { ParseContext } from '../../tool.ts';
import type { SyscountResult, SyscountRow } from './result.ts';

/** The map the program fills; bpftrace prints it at SIGINT. */
export const MAP_NAME = '@failures';
/** The same failures by descriptor (syscalls given one); key "id,errno,pid,fd". */
export const FILES_MAP = '@files';
/** Per "pid,fd" that failed: 1 while it may still name the failing file, 2 once closed or replaced after it failed. */
export const FD_STATE_MAP = '@fdstate';
const FD_REPLACED = 2;

/** Descriptors listed per row, most failures first: enough to name the files, bounded for the summary. */
export const MAX_FILES_PER_ROW = 8;

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

const FILE_KEY = /^(-?\d+),(\d+),(\d+),(\d+)$/;
const FD_KEY = /^(\d+),(\d+)$/;

/**
 * The program masks descriptors to the kernel's unsigned int; as the process passed them they are ints, so a
 * write(-1, …) (EBADF) reads back as fd -1 instead of 4294967295.
 */
const asPassed = (fd: number): number => fd | 0;

interface FileKey {
  syscallNr: number;
  errno: number;
  pid: number;
  fd: number;
}

export function parseFileKey(key: string): FileKey {
  const m = FILE_KEY.exec(key);
  if (m === null) throw new Error(`unexpected ${FILES_MAP} key ${JSON.stringify(key)}: expected "id,errno,pid,fd"`);
  const [, nr = '', errno = '', pid = '', fd = ''] = m;
  return { syscallNr: Number(nr), errno: Number(errno), pid: Number(pid), fd: asPassed(Number(fd)) };
}

/** "pid,fd" of the descriptors closed or replaced after their last failure. */
function replacedDescriptors(stdout: string): Set<string> {
  const replaced = new Set<string>();
  for (const [key, state] of Object.entries(readCountMap(stdout, FD_STATE_MAP))) {
    const m = FD_KEY.exec(key);
    if (m === null) throw new Error(`unexpected ${FD_STATE_MAP} key ${JSON.stringify(key)}: expected "pid,fd"`);
    if (state === FD_REPLACED) replaced.add(`${m[1]},${asPassed(Number(m[2]))}`);
  }
  return replaced;
}

/**
 * How a descriptor is reported. The kernel's word comes first: one closed or replaced after it failed names
 * another file now, or none (a shell's `echo >> f` writes through fd 1 and restores it at once), so it is `closed`
 * unless the process has gone altogether. Otherwise /proc says what it names. With no live process at hand
 * (ctx.fileOf absent: a recording, raw.json read again later) nothing can be asked, and the process as it was
 * at the end of the capture is as good as gone: `exited`.
 */
function fileResolver(ctx: ParseContext, replaced: ReadonlySet<string>): (pid: number, fd: number) => FileResolution {
  const cache = new Map<string, FileResolution>();
  return (pid, fd) => {
    const key = `${pid},${fd}`;
    let res = cache.get(key);
    if (res === undefined) {
      const now = ctx.fileOf?.(pid, fd);
      if (replaced.has(key)) res = now?.state === 'exited' ? now : { path: null, state: 'closed', deleted: false };
      else res = now ?? { path: null, state: 'exited', deleted: false };
      cache.set(key, res);
    }
    return res;
  };
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
  const keyed = Object.entries(readCountMap(stdout, MAP_NAME)).map(([key, count]) => {
    const k = parseFailureKey(key);
    const row: SyscountRow = {
      syscall: syscallName(ctx.arch, k.syscallNr),
      errno: errnoName(k.errno),
      comm: k.comm,
      pid: k.pid,
      cgroupId: k.cgroupId,
      cgroup: pathOf(k.cgroupId),
      // A parser knows kernel facts only; naming the pod behind a cgroup needs the node's pod inventory.
      pod: null,
      count,
      files: [],
    };
    return { k, row };
  });
  keyed.sort((a, b) => byCountThenKey(a.row, b.row));
  attachFiles(keyed, stdout, ctx);
  const rows = keyed.map((r) => r.row);
  return { rows, totalEvents: rows.reduce((sum, r) => sum + r.count, 0) };
}

/**
 * Gives each row the descriptors its failures were on. @files does not know comm or cgroup, so the descriptors of
 * (syscall, errno, pid) go to that process's row with the most failures (a process that exec'ed or moved cgroup
 * has several). A descriptor whose row is missing (its @failures key was dropped at the map's key limit) is left out.
 */
function attachFiles(keyed: readonly { k: FailureKey; row: SyscountRow }[], stdout: string, ctx: ParseContext): void {
  const rowOf = new Map<string, SyscountRow>();
  // Sorted by count already: the first row seen for a process is its largest.
  for (const { k, row } of keyed) {
    const key = `${k.syscallNr},${k.errno},${k.pid}`;
    if (!rowOf.has(key)) rowOf.set(key, row);
  }
  const found = new Map<SyscountRow, { pid: number; fd: number; count: number }[]>();
  for (const [key, count] of Object.entries(readCountMap(stdout, FILES_MAP))) {
    const f = parseFileKey(key);
    const row = rowOf.get(`${f.syscallNr},${f.errno},${f.pid}`);
    if (row === undefined) continue;
    const list = found.get(row) ?? [];
    list.push({ pid: f.pid, fd: f.fd, count });
    found.set(row, list);
  }
  const resolve = fileResolver(ctx, replacedDescriptors(stdout));
  for (const [row, files] of found) {
    files.sort((a, b) => b.count - a.count || a.fd - b.fd);
    row.files = files.slice(0, MAX_FILES_PER_ROW).map(({ pid, fd, count }): FailingFile => ({ fd, count, ...resolve(pid, fd) }));
  }
}
