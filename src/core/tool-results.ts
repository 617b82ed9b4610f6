import { z } from 'zod';

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
