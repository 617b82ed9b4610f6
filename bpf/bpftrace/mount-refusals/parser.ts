import { readCountMap } from '../../bpftrace-output.ts';
import type { MountRefusalsNamespace, MountRefusalsProcess, MountRefusalsResult } from './result.ts';

/** Both variants' maps: calls by "mntns,pid,cgroup,comm". */
export const REFUSED_MAP = '@refused';
export const ALLOWED_MAP = '@allowed';
/** Pids kept per process row: mount(8) runs as a new process each time, so a leaking loop makes hundreds. */
export const MAX_PIDS = 16;

/** "mntns,pid,cgroup,comm": comm is last and may contain commas, so it takes the rest. */
const KEY = /^(\d+),(\d+),(\d+),([\s\S]*)$/;

function parseKey(key: string, map: string): { mntns: number; pid: number; cgroupId: number; comm: string } {
  const m = KEY.exec(key);
  if (m === null) throw new Error(`unexpected ${map} key ${JSON.stringify(key)}: expected "mntns,pid,cgroup,comm"`);
  return { mntns: Number(m[1]), pid: Number(m[2]), cgroupId: Number(m[3]), comm: m[4] ?? '' };
}

/** Reads either variant's output (the same maps) into namespaces, most refused first. */
export function parseMountRefusals(stdout: string): MountRefusalsResult {
  const byNs = new Map<number, { ns: MountRefusalsNamespace; procs: Map<string, MountRefusalsProcess & { all: Set<number> }> }>();
  const add = (map: string, field: 'refused' | 'allowed') => {
    for (const [key, count] of Object.entries(readCountMap(stdout, map))) {
      const k = parseKey(key, map);
      let entry = byNs.get(k.mntns);
      if (!entry) byNs.set(k.mntns, (entry = { ns: { mntns: k.mntns, refused: 0, allowed: 0, processes: [] }, procs: new Map() }));
      entry.ns[field] += count;
      const pk = `${k.cgroupId}\u0000${k.comm}`;
      let p = entry.procs.get(pk);
      if (!p) entry.procs.set(pk, (p = { comm: k.comm, cgroupId: k.cgroupId, refused: 0, allowed: 0, pids: [], all: new Set() }));
      p[field] += count;
      p.all.add(k.pid);
    }
  };
  add(REFUSED_MAP, 'refused');
  add(ALLOWED_MAP, 'allowed');
  const namespaces = [...byNs.values()].map(({ ns, procs }) => ({
    ...ns,
    processes: [...procs.values()]
      .map(({ all, ...p }) => ({ ...p, pids: [...all].sort((a, b) => a - b).slice(0, MAX_PIDS) }))
      .sort((a, b) => b.refused - a.refused || b.allowed - a.allowed || a.comm.localeCompare(b.comm) || a.cgroupId - b.cgroupId),
  }));
  namespaces.sort((a, b) => b.refused - a.refused || b.allowed - a.allowed || a.mntns - b.mntns);
  return {
    namespaces,
    totalRefused: namespaces.reduce((n, x) => n + x.refused, 0),
    totalAllowed: namespaces.reduce((n, x) => n + x.allowed, 0),
  };
}
