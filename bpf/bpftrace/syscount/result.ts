/** syscount's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';
import { FailingFile } from '../../failing-file.ts';

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
