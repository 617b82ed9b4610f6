import { z } from 'zod';
import type { NativeTool } from '../../tool.ts';
import { COLLECTOR_LIMITS, FocusPids } from '../procfs.ts';
import { readMountNamespaces } from './reader.ts';
import { MountNamespacesResult } from './result.ts';

export const MountNamespacesParams = z
  .object({
    /** The processes the previous step found failing; their namespaces are always listed and analysed. */
    pids: FocusPids.optional(),
  })
  .strict();
export type MountNamespacesParams = z.output<typeof MountNamespacesParams>;

export const mountNamespaces: NativeTool<typeof MountNamespacesParams, MountNamespacesResult> = {
  kind: 'native',
  name: 'mount-namespaces',
  description:
    'Mounts per mount namespace against fs.mount-max, and per namespace the mount points repeated in it (bind-mount leaks), the focus namespaces first.',
  params: MountNamespacesParams,
  requires: [],
  variants: [{ name: 'procfs', requires: [], description: "reads /proc/<pid>/mountinfo of each mount namespace and fs.mount-max" }],
  limits: { ...COLLECTOR_LIMITS },
  result: MountNamespacesResult,
  run: readMountNamespaces,
};
