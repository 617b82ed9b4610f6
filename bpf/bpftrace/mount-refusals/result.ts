import { z } from 'zod';

/** One process name in one cgroup of a namespace: each mount(8) is a new process, so pids are listed, not keyed. */
export const MountRefusalsProcess = z.object({
  comm: z.string(),
  cgroupId: z.number().int(),
  /** Set by the agent for a pod's cgroup. */
  pod: z.string().optional(),
  container: z.string().optional(),
  refused: z.number().int(),
  allowed: z.number().int(),
  /** The processes that made the calls, lowest first, at most MAX_PIDS. */
  pids: z.array(z.number().int()),
});
export type MountRefusalsProcess = z.infer<typeof MountRefusalsProcess>;

export const MountRefusalsNamespace = z.object({
  /** The mount namespace's inode number, as /proc/<pid>/ns/mnt names it: mnt:[4026532156]. */
  mntns: z.number().int(),
  /** Mounts refused with ENOSPC (the kprobe variant: count_mounts said so; the tracepoint variant: the syscall did). */
  refused: z.number().int(),
  allowed: z.number().int(),
  processes: z.array(MountRefusalsProcess),
});
export type MountRefusalsNamespace = z.infer<typeof MountRefusalsNamespace>;

export const MountRefusalsResult = z.object({
  /** Namespaces with a refused or allowed mount in the window, most refused first. */
  namespaces: z.array(MountRefusalsNamespace),
  totalRefused: z.number().int(),
  totalAllowed: z.number().int(),
});
export type MountRefusalsResult = z.infer<typeof MountRefusalsResult>;
