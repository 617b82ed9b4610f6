/** mount-namespaces' result: the only home of its schema and types (the reader builds it, consumers read it). */
import { z } from 'zod';
import { Targets } from '../procfs.ts';

const Count = z.number().int();

/** A mount point mounted more than once in one namespace (stacked bind mounts). */
export const RepeatedMountPoint = z.object({ mountPoint: z.string(), count: Count });
/** A filesystem source (device, and the directory within it a bind mount shows) mounted more than once in one namespace. */
export const RepeatedSource = z.object({ source: z.string(), root: z.string(), count: Count });

export const MountNamespace = z.object({
  /** The namespace's inode number (`readlink /proc/<pid>/ns/mnt` → mnt:[ns]). */
  ns: Count,
  /** A focus process of the namespace when it has one (the first whose mountinfo could be read), else the process whose mountinfo was counted. */
  pid: Count,
  comm: z.string(),
  /** Processes seen in the namespace. */
  processes: Count,
  mounts: Count,
  /** mounts / fs.mount-max; null when the kernel has no mount-max. */
  usedShare: z.number().nullable(),
  /** mounts ≥ 90 % of fs.mount-max; false when the kernel has no mount-max. */
  nearLimit: z.boolean(),
  /** Contains one of the focus processes. */
  focus: z.boolean(),
  /** The focus processes in the namespace, ascending, at most 20: a finding can name the target's own process. */
  focusPids: z.array(Count),
  /** Mount points mounted more than once in THIS namespace, most first, top 10; empty for a namespace not analysed. */
  repeated: z.array(RepeatedMountPoint),
  /** Sources mounted more than once in THIS namespace, most first, top 10; empty for a namespace not analysed. */
  repeatedSources: z.array(RepeatedSource),
});
export type MountNamespace = z.infer<typeof MountNamespace>;

export const MountNamespacesResult = z.object({
  /** fs.mount-max: the most mounts one namespace may hold (mount(2) fails with ENOSPC beyond it). */
  mountMax: Count.nullable(),
  totalNamespaces: Count,
  /** Every focus namespace, then the others of the 20 with the most mounts; most mounts first within each group. */
  namespaces: z.array(MountNamespace),
  /** Inodes of ALL namespaces at ≥ 90 % of mount-max (listed or not), most mounts first. */
  nearLimitNamespaces: z.array(Count),
  targets: Targets,
  /** Why no focus namespace could be used, when that is so. */
  fallback: z.string().nullable(),
});
export type MountNamespacesResult = z.infer<typeof MountNamespacesResult>;

