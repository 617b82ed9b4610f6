import { z } from 'zod';
import type { NativeTool } from '../../tool.ts';
import { COLLECTOR_LIMITS, FocusPids } from '../procfs.ts';
import { readInotifyWatches } from './reader.ts';
import { InotifyWatchesResult } from './result.ts';

export const InotifyWatchesParams = z
  .object({
    /** The processes the previous step found failing; only their users are reported when any is running. */
    pids: FocusPids.optional(),
  })
  .strict();
export type InotifyWatchesParams = z.output<typeof InotifyWatchesParams>;

export const inotifyWatches: NativeTool<typeof InotifyWatchesParams, InotifyWatchesResult> = {
  kind: 'native',
  name: 'inotify-watches',
  description: 'inotify watches and instances per user (user namespace and uid) against the effective limits, with the processes holding them.',
  params: InotifyWatchesParams,
  requires: [],
  variants: [{ name: 'procfs', requires: [], description: "reads the fdinfo of inotify descriptors and each user namespace's limits" }],
  limits: { ...COLLECTOR_LIMITS },
  result: InotifyWatchesResult,
  run: readInotifyWatches,
};
