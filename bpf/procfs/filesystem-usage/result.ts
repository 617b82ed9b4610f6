/** filesystem-usage's result: the only home of its schema and types (the reader builds it, consumers read it). */
import { z } from 'zod';
import { Targets } from '../procfs.ts';

const Count = z.number().int();

export const FilesystemEntry = z.object({
  /** As seen in the mount namespace it was found in. */
  mountPoint: z.string(),
  fsType: z.string(),
  source: z.string(),
  /** Mount namespace inode the mount point belongs to. */
  mountNs: Count,
  /** "major:minor": filesystems are deduplicated by device. */
  dev: z.string(),
  sizeBytes: Count,
  usedBytes: Count,
  /** Free for unprivileged writers (reserved blocks excluded), as df shows it. */
  availBytes: Count,
  /** used / (used + avail), as df's Use%. */
  usedShare: z.number(),
  inodes: z.object({ total: Count, free: Count }),
  /** null where the filesystem has no fixed inode count (btrfs, some FUSE filesystems report 0). */
  inodesUsedShare: z.number().nullable(),
  /** Mounted read-only: writes fail with EROFS, not ENOSPC, so never `full`. */
  readOnly: z.boolean(),
  /** Less than 1 % or less than one block available, or no free inodes. */
  full: z.boolean(),
  /** A focus process has an open file (or its working directory) on it. */
  openedByFocus: z.boolean(),
  /** Those focus processes, ascending. */
  pids: z.array(Count),
  /** The `files` params that live on this filesystem (in their process's mount namespace), as given, at most 10. */
  failingFiles: z.array(z.string()),
});
export type FilesystemEntry = z.infer<typeof FilesystemEntry>;

export const FilesystemUsageResult = z.object({
  /** Full with failing files first, then full, then with failing files, then those a focus process has files on, then by usedShare (then inode share) descending; at most 50. */
  filesystems: z.array(FilesystemEntry),
  totalFilesystems: Count,
  /** Filesystems that could not be measured: `timeout` (a hung network filesystem, say) or the errno. */
  unmeasured: z.array(z.object({ mountPoint: z.string(), fsType: z.string(), source: z.string(), reason: z.string() })),
  targets: Targets,
  fallback: z.string().nullable(),
});
export type FilesystemUsageResult = z.infer<typeof FilesystemUsageResult>;

