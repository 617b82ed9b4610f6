/** mountsnoop's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';
import { MOUNT_SYSCALLS } from './flags.ts';

export const MountSyscall = z.enum(MOUNT_SYSCALLS);

/** One row per (syscall, flags, result, process, cgroup): how often that call was made that way. */
export const MountCallRow = z.object({
  syscall: MountSyscall,
  /** Flag names in bit order (MS_BIND, MS_REC, MNT_DETACH, ...); unknown bits as one hex remainder. */
  flags: z.array(z.string()),
  /** Errno name of a failed call; null when the call succeeded. */
  errno: z.string().nullable(),
  pid: z.number().int(),
  comm: z.string(),
  cgroupId: z.number().int(),
  cgroup: z.string().nullable(),
  count: z.number().int(),
});
export type MountCallRow = z.infer<typeof MountCallRow>;

/** A path given to a call: the mount point (target) or what is mounted or cloned there (source). */
export const MountPathRow = z.object({
  syscall: MountSyscall,
  role: z.enum(['target', 'source']),
  path: z.string(),
  errno: z.string().nullable(),
  count: z.number().int(),
});
export type MountPathRow = z.infer<typeof MountPathRow>;

export const MountsnoopSummary = z.object({
  calls: z.number().int(),
  failed: z.number().int(),
  failuresByErrno: z.array(z.object({ errno: z.string(), count: z.number().int() })),
  /** Successful non-recursive binds: mount(MS_BIND) without MS_REC or MS_REMOUNT, open_tree(OPEN_TREE_CLONE). */
  binds: z.number().int(),
  /** Successful recursive binds: mount(MS_BIND|MS_REC) without MS_REMOUNT, open_tree(OPEN_TREE_CLONE|AT_RECURSIVE). */
  recursiveBinds: z.number().int(),
  /** Successful umount2 calls, and those with MNT_DETACH among them. */
  unmounts: z.number().int(),
  lazyUnmounts: z.number().int(),
});
export type MountsnoopSummary = z.infer<typeof MountsnoopSummary>;

export const MountsnoopResult = z.object({
  rows: z.array(MountCallRow),
  /** The `maxPaths` most frequent (syscall, role, path, errno) combinations. */
  paths: z.array(MountPathRow),
  /** How many distinct combinations the kernel counted, before the cut to `maxPaths`. */
  distinctPaths: z.number().int(),
  summary: MountsnoopSummary,
});
export type MountsnoopResult = z.infer<typeof MountsnoopResult>;
