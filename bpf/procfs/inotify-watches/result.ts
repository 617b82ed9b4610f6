/** inotify-watches' result: the only home of its schema and types (the reader builds it, consumers read it). */
import { z } from 'zod';
import { Targets } from '../procfs.ts';

const Count = z.number().int();

export const InotifyProcess = z.object({
  pid: Count,
  comm: z.string(),
  watches: Count,
  instances: Count,
  focus: z.boolean(),
});

export const InotifyUser = z.object({
  /** User namespace inode (`readlink /proc/<pid>/ns/user`). */
  userns: Count,
  /** Effective uid as the agent sees it (the kernel charges inotify to the creator's user namespace and euid). */
  uid: Count,
  watches: Count,
  instances: Count,
  /** The namespace's own max_inotify_watches / max_inotify_instances, read from inside it; null for the agent's own namespace or when it could not be read. */
  nsLimit: z.object({ watches: Count, instances: Count }).nullable(),
  /** Effective watch limit: the smaller of the namespace's own and the host's. */
  limit: Count,
  instancesLimit: Count,
  usedShare: z.number(),
  instancesUsedShare: z.number(),
  /** One of the focus processes belongs to this user. */
  focus: z.boolean(),
  /** Processes with inotify instances (and focus processes), most watches first, top 10. */
  processes: z.array(InotifyProcess),
  totalProcesses: Count,
});
export type InotifyUser = z.infer<typeof InotifyUser>;

export const InotifyWatchesResult = z.object({
  /** The limits of the agent's own user namespace (fs.inotify.max_user_watches / max_user_instances). */
  hostLimit: z.object({ watches: Count.nullable(), instances: Count.nullable() }),
  /** Most used first (usedShare, then watches); the focus processes' users when any is running, else everyone's; top 20. */
  users: z.array(InotifyUser),
  totalUsers: Count,
  targets: Targets,
  fallback: z.string().nullable(),
});
export type InotifyWatchesResult = z.infer<typeof InotifyWatchesResult>;

