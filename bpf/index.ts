import { filesystemUsage } from './procfs/filesystem-usage/manifest.ts';
import { inotifyWatches } from './procfs/inotify-watches/manifest.ts';
import { cpuThrottling } from './procfs/cpu-throttling/manifest.ts';
import { triage } from './bpftrace/triage/manifest.ts';
import { mountNamespaces } from './procfs/mount-namespaces/manifest.ts';
import { biolatency } from './bpftrace/biolatency/manifest.ts';
import { execsnoop } from './bpftrace/execsnoop/manifest.ts';
import { funcgraph } from './tracefs/funcgraph/manifest.ts';
import { mountRefusals } from './bpftrace/mount-refusals/manifest.ts';
import { mountsnoop } from './bpftrace/mountsnoop/manifest.ts';
import { oomkill } from './bpftrace/oomkill/manifest.ts';
import { profile } from './bpftrace/profile/manifest.ts';
import { offcputime } from './bpftrace/offcputime/manifest.ts';
import { runqlat } from './bpftrace/runqlat/manifest.ts';
import { syscount } from './bpftrace/syscount/manifest.ts';
import { tcpretrans } from './bpftrace/tcpretrans/manifest.ts';
import { tcpconnect } from './bpftrace/tcpconnect/manifest.ts';
import { tcpaccept } from './bpftrace/tcpaccept/manifest.ts';
import { opensnoop } from './bpftrace/opensnoop/manifest.ts';
import { gethostlatency } from './bpftrace/gethostlatency/manifest.ts';
import { biosnoop } from './bpftrace/biosnoop/manifest.ts';
import { fsslower } from './bpftrace/fsslower/manifest.ts';
import { ext4slower } from './bpftrace/ext4slower/manifest.ts';
import { cachestat } from './bpftrace/cachestat/manifest.ts';
import type { CaptureTool } from './tool.ts';

const all: CaptureTool[] = [
  biosnoop,
  fsslower,
  ext4slower,
  cachestat,
  syscount,
  opensnoop,
  gethostlatency,
  profile,
  offcputime,
  mountsnoop,
  mountRefusals,
  execsnoop,
  oomkill,
  tcpretrans,
  tcpconnect,
  tcpaccept,
  runqlat,
  biolatency,
  funcgraph,
  mountNamespaces,
  inotifyWatches,
  filesystemUsage,
  cpuThrottling,
  triage,
];

/** Every tool the agent can run, by name: bpftrace programs, tracefs tracers and read-only collectors. */
export const tools: Readonly<Record<string, CaptureTool>> = Object.fromEntries(all.map((t) => [t.name, t]));

export function getTool(name: string): CaptureTool | undefined {
  return Object.hasOwn(tools, name) ? tools[name] : undefined;
}
