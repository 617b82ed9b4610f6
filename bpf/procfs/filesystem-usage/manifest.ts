import { z } from 'zod';
import type { NativeTool } from '../../tool.ts';
import { COLLECTOR_LIMITS, FocusPids } from '../procfs.ts';
import { FileToLocate, MAX_FILES, readFilesystemUsage } from './reader.ts';
import { FilesystemUsageResult } from './result.ts';

export const FilesystemUsageParams = z
  .object({
    /** The processes the previous step found failing; the filesystems of their mount namespaces are measured. */
    pids: FocusPids.optional(),
    /** Files a syscall failed on: each is located in its own process's mount namespace (measured too, if it is not yet). */
    files: z.array(FileToLocate).max(MAX_FILES).optional(),
  })
  .strict();
export type FilesystemUsageParams = z.output<typeof FilesystemUsageParams>;

export const filesystemUsage: NativeTool<typeof FilesystemUsageParams, FilesystemUsageResult> = {
  kind: 'native',
  name: 'filesystem-usage',
  description: 'Space and inode usage of the filesystems the focus processes see (measured through /proc/<pid>/root), those they have files open on first.',
  params: FilesystemUsageParams,
  requires: [],
  variants: [{ name: 'procfs', requires: [], description: "reads /proc/<pid>/mountinfo and statfs(2) of each filesystem" }],
  limits: { ...COLLECTOR_LIMITS },
  result: FilesystemUsageResult,
  run: readFilesystemUsage,
};
