import { filesystemUsage } from './collectors/filesystem-usage.ts';
import { inotifyWatches } from './collectors/inotify-watches.ts';
import { mountNamespaces } from './collectors/mount-namespaces.ts';
import { biolatency } from './biolatency/manifest.ts';
import { execsnoop } from './execsnoop/manifest.ts';
import { funcgraph } from './funcgraph/manifest.ts';
import { mountsnoop } from './mountsnoop/manifest.ts';
import { oomkill } from './oomkill/manifest.ts';
import { profile } from './profile/manifest.ts';
import { runqlat } from './runqlat/manifest.ts';
import { syscount } from './syscount/manifest.ts';
import { tcpretrans } from './tcpretrans/manifest.ts';
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
