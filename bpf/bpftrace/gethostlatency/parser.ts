import { readCountMap } from '../../bpftrace-output.ts';
import { mergeHistograms, readHistMap, summarize, type Histogram, type HistogramSummary } from '../../histogram.ts';
import type { ParseContext } from '../../tool.ts';
import type { GethostlatencyResult, HostLookups, LookupProcess } from './result.ts';

/** The maps the program fills; bpftrace prints them at SIGINT. */
export const LATENCY_MAP = '@latency';
export const HOSTS_MAP = '@hosts';
export const HOSTMAX_MAP = '@hostmax';

/** glibc's <netdb.h>: getaddrinfo's return codes. */
const EAI: ReadonlyMap<number, string> = new Map([
  [-1, 'EAI_BADFLAGS'], [-2, 'EAI_NONAME'], [-3, 'EAI_AGAIN'], [-4, 'EAI_FAIL'], [-5, 'EAI_NODATA'],
  [-6, 'EAI_FAMILY'], [-7, 'EAI_SOCKTYPE'], [-8, 'EAI_SERVICE'], [-9, 'EAI_ADDRFAMILY'], [-10, 'EAI_MEMORY'],
  [-11, 'EAI_SYSTEM'], [-12, 'EAI_OVERFLOW'], [-100, 'EAI_INPROGRESS'], [-101, 'EAI_CANCELED'],
  [-102, 'EAI_NOTCANCELED'], [-103, 'EAI_ALLDONE'], [-104, 'EAI_INTR'], [-105, 'EAI_IDN_ENCODE'],
]);

/** A lookup's status as the program keys it: 0 found; negative, getaddrinfo's EAI_* code; 1, gethostbyname(2) NULL. */
export function lookupError(status: number): string | null {
  if (status === 0) return null;
  if (status === 1) return 'FAILED';
  return EAI.get(status) ?? `EAI_${status}`;
}

/** "pid,cgroup,<text>" (@latency: comm; @hostmax: host) and "pid,cgroup,status,host" (@hosts): text last, commas and all. */
const PROCESS_KEY = /^(\d+),(\d+),(.*)$/s;
const HOSTS_KEY = /^(\d+),(\d+),(-?\d+),(.*)$/s;

export function parseProcessKey(map: string, key: string): { pid: number; cgroupId: number; text: string } {
  const m = PROCESS_KEY.exec(key);
  if (m === null) throw new Error(`unexpected ${map} key ${JSON.stringify(key)}: expected "pid,cgroup,${map === LATENCY_MAP ? 'comm' : 'host'}"`);
  return { pid: Number(m[1]), cgroupId: Number(m[2]), text: m[3] ?? '' };
}

export function parseHostsKey(key: string): { pid: number; cgroupId: number; status: number; host: string } {
  const m = HOSTS_KEY.exec(key);
  if (m === null) throw new Error(`unexpected ${HOSTS_MAP} key ${JSON.stringify(key)}: expected "pid,cgroup,status,host"`);
  return { pid: Number(m[1]), cgroupId: Number(m[2]), status: Number(m[3]), host: m[4] ?? '' };
}

export interface GethostlatencyLimits {
  maxProcesses: number;
  hostsPerProcess: number;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The estimates interpolate inside log2 buckets, so they can exceed the slowest lookup, which the kernel measured
 * exactly: none of them is more than that (p50 of 352 ms beside a slowest of 347 ms would read as an error).
 */
function clampToMax(latency: HistogramSummary, maxUs: number): HistogramSummary {
  if (maxUs === 0) return latency; // no @hostmax for this process (its keys were dropped): nothing to clamp to
  const clamp = (x: number | null): number | null => (x === null ? null : Math.min(x, maxUs));
  return { ...latency, p50: clamp(latency.p50), p90: clamp(latency.p90), p99: clamp(latency.p99), mean: clamp(latency.mean) };
}

interface Proc extends LookupProcess {
  hist: Histogram;
}

export function parseGethostlatency(stdout: string, limits: GethostlatencyLimits, ctx: ParseContext): GethostlatencyResult {
  const cgroupPaths = new Map<number, string | null>();
  const pathOf = (id: number): string | null => {
    if (!cgroupPaths.has(id)) cgroupPaths.set(id, ctx.cgroupPathOf(id));
    return cgroupPaths.get(id) ?? null;
  };
  const procs: Proc[] = Object.entries(readHistMap(stdout, LATENCY_MAP, 'us')).map(([key, hist]) => {
    const k = parseProcessKey(LATENCY_MAP, key);
    const latency = summarize(hist);
    return {
      pid: k.pid, comm: k.text, cgroupId: k.cgroupId, cgroup: pathOf(k.cgroupId),
      // A parser knows kernel facts only; naming the pod behind a cgroup needs the node's pod inventory.
      pod: null,
      lookups: latency.count, failures: 0, maxUs: 0, latency, hosts: [], distinctHosts: 0, hist,
    };
  });
  // A process that exec'ed has a row per comm; its host names go to the row with the most lookups.
  procs.sort((a, b) => b.lookups - a.lookups || a.pid - b.pid || a.cgroupId - b.cgroupId || cmp(a.comm, b.comm));
  const owner = new Map<string, Proc>();
  for (const p of procs) if (!owner.has(`${p.pid},${p.cgroupId}`)) owner.set(`${p.pid},${p.cgroupId}`, p);

  const hosts = new Map<Proc, Map<string, HostLookups>>();
  const hostOf = (p: Proc, host: string): HostLookups => {
    const byName = hosts.get(p) ?? new Map<string, HostLookups>();
    hosts.set(p, byName);
    let h = byName.get(host);
    if (h === undefined) byName.set(host, (h = { host, lookups: 0, failures: 0, maxUs: 0, errors: [] }));
    return h;
  };
  for (const [key, count] of Object.entries(readCountMap(stdout, HOSTS_MAP))) {
    const k = parseHostsKey(key);
    const p = owner.get(`${k.pid},${k.cgroupId}`);
    if (p === undefined) continue; // its @latency key was dropped at the map's key limit
    const h = hostOf(p, k.host);
    h.lookups += count;
    const error = lookupError(k.status);
    if (error !== null) {
      h.failures += count;
      h.errors.push({ error, count });
    }
  }
  for (const [key, us] of Object.entries(readCountMap(stdout, HOSTMAX_MAP))) {
    const k = parseProcessKey(HOSTMAX_MAP, key);
    const p = owner.get(`${k.pid},${k.cgroupId}`);
    if (p !== undefined) hostOf(p, k.text).maxUs = us;
  }

  for (const p of procs) {
    const list = [...(hosts.get(p)?.values() ?? [])];
    for (const h of list) h.errors.sort((a, b) => b.count - a.count || cmp(a.error, b.error));
    // Slowest first: a slow or timing-out name is what a DNS investigation looks for, then the most failing.
    list.sort((a, b) => b.maxUs - a.maxUs || b.failures - a.failures || b.lookups - a.lookups || cmp(a.host, b.host));
    p.failures = list.reduce((s, h) => s + h.failures, 0);
    p.maxUs = list.reduce((m, h) => Math.max(m, h.maxUs), 0);
    p.hosts = list.slice(0, limits.hostsPerProcess);
    p.distinctHosts = list.length;
    p.latency = clampToMax(p.latency, p.maxUs);
  }
  procs.sort((a, b) => b.maxUs - a.maxUs || b.lookups - a.lookups || a.pid - b.pid || cmp(a.comm, b.comm));
  const all = procs.length ? summarize(mergeHistograms(procs.map((p) => p.hist), 'us')) : null;
  return {
    processes: procs.slice(0, limits.maxProcesses).map(({ hist: _hist, ...p }) => p),
    distinctProcesses: procs.length,
    totalLookups: all?.count ?? 0,
    totalFailures: procs.reduce((s, p) => s + p.failures, 0),
    maxUs: procs.reduce((m, p) => Math.max(m, p.maxUs), 0),
  };
}
