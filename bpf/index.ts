import { filesystemUsage } from './procfs/filesystem-usage/manifest.ts';
import { inotifyWatches } from './procfs/inotify-watches/manifest.ts';
import { mountNamespaces } from './procfs/mount-namespaces/manifest.ts';
import { biolatency } from './bpftrace/biolatency/manifest.ts';
import { execsnoop } from './bpftrace/execsnoop/manifest.ts';
import { funcgraph } from './tracefs/funcgraph/manifest.ts';
import { mountsnoop } from './bpftrace/mountsnoop/manifest.ts';
import { oomkill } from './bpftrace/oomkill/manifest.ts';
import { profile } from './bpftrace/profile/manifest.ts';
import { runqlat } from './bpftrace/runqlat/manifest.ts';
import { syscount } from './bpftrace/syscount/manifest.ts';
import { tcpretrans } from './bpftrace/tcpretrans/manifest.ts';
import type { CaptureTool } from './tool.ts';

const all: CaptureTool[] = [
  syscount,
  profile,
  mountsnoop,
  execsnoop,
  oomkill,
  tcpretrans,
  runqlat,
  biolatency,
  funcgraph,
  mountNamespaces,
  inotifyWatches,
  filesystemUsage,
];

/** Every tool the agent can run, by name: bpftrace programs, tracefs tracers and read-only collectors. */
export const tools: Readonly<Record<string, CaptureTool>> = Object.fromEntries(all.map((t) => [t.name, t]));

export function getTool(name: string): CaptureTool | undefined {
  return Object.hasOwn(tools, name) ? tools[name] : undefined;
}
