import { readFileSync, readlinkSync, statSync } from 'node:fs';
import type { FileResolution } from '../../bpf/failing-file.ts';

/** What the kernel appends to the link of a file that has been unlinked while open. */
const DELETED_SUFFIX = ' (deleted)';

/**
 * What descriptor `fd` of process `pid` names now, read from `<procRoot>/<pid>/fd/<fd>`. The kernel spells the link
 * relative to the process's own root and mount namespace, so a containerised process's file reads as it sees it.
 * readlink and stat only: nothing runs, and the path is built from two integers, never from captured text.
 */
export function resolveFd(pid: number, fd: number, procRoot = '/proc'): FileResolution {
  if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(fd)) throw new TypeError(`pid and fd must be integers, got ${pid} and ${fd}`);
  const link = `${procRoot}/${pid}/fd/${fd}`;
  let target: string;
  try {
    target = readlinkSync(link);
  } catch (err) {
    // No such descriptor (a negative one never is): closed, unless the whole process has gone.
    if (!isGone(err)) throw err;
    return { path: null, state: processExited(procRoot, pid) ? 'exited' : 'closed', deleted: false };
  }
  // A file can be named "x (deleted)"; only a link count of 0 says the kernel appended the suffix.
  const deleted = target.endsWith(DELETED_SUFFIX) && linkCount(link) === 0;
  return { path: deleted ? target.slice(0, -DELETED_SUFFIX.length) : target, state: 'open', deleted };
}

/** ENOENT: no such pid or descriptor; ESRCH: the process exited between the lookup and the read. */
function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
}

/** Gone, or a zombie: its descriptors were released at exit, though /proc/<pid> stays until it is reaped. */
function processExited(procRoot: string, pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
  } catch (err) {
    if (isGone(err)) return true;
    throw err;
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, so the state follows the last ")".
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}

/** The open file's link count (stat follows the /proc link to the file itself); null if it went meanwhile. */
function linkCount(link: string): number | null {
  try {
    return statSync(link).nlink;
  } catch (err) {
    if (isGone(err)) return null;
    throw err;
  }
}
