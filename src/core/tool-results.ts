import { z } from 'zod';

/** A file descriptor the failing syscall was given (write(2), fallocate(2), fsync(2)…), resolved at capture end. */
export const FailingFile = z.object({
  fd: z.number().int(),
  /** Failures of this row's syscall on this descriptor. */
  count: z.number().int(),
  /**
   * What /proc/<pid>/fd/<fd> pointed at when the capture ended, as the process sees it (its mount namespace):
   * a path ("/var/lib/app/data.log", " (deleted)" stripped), or "pipe:[…]", "socket:[…]"; null unless `open`.
   */
  path: z.string().nullable(),
  /** `open`: resolved; `closed`: the process closed it before the capture ended; `exited`: the process is gone. */
  state: z.enum(['open', 'closed', 'exited']),
  /** The file had been unlinked: it still takes space until closed. */
  deleted: z.boolean().default(false),
});
export type FailingFile = z.infer<typeof FailingFile>;

/** One row per (syscall, errno, process, cgroup): how often that syscall failed that way during the capture. */
export const SyscountRow = z.object({
  syscall: z.string(),
  errno: z.string(),
  comm: z.string(),
  pid: z.number().int(),
  cgroupId: z.number().int(),
  /** The cgroup's path below the node's cgroup v2 root, when the agent could find it. */
  cgroup: z.string().nullable(),
  pod: z.string().nullable(),
  count: z.number().int(),
  /** For syscalls given a file descriptor: the descriptors that failed, most failures first (at most 8). */
  files: z.array(FailingFile).default([]),
});
export type SyscountRow = z.infer<typeof SyscountRow>;

export const SyscountResult = z.object({
  rows: z.array(SyscountRow),
  totalEvents: z.number().int(),
});
export type SyscountResult = z.infer<typeof SyscountResult>;

export const TopFunction = z.object({
  name: z.string(),
  /** Share of samples in which the function is the leaf frame (on CPU itself). */
  self: z.number(),
  /** Share of samples in which the function is anywhere on the stack. */
  total: z.number(),
});
export type TopFunction = z.infer<typeof TopFunction>;

export const ProfileResult = z.object({
  samples: z.number().int(),
  hz: z.number().int(),
  /** Samples with at least one frame that could not be named ("[unknown]": stripped binaries, JIT code, exited processes). */
  unknownSamples: z.number().int().default(0),
  topFunctions: z.array(TopFunction),
  artifacts: z.array(z.string()),
});
export type ProfileResult = z.infer<typeof ProfileResult>;
