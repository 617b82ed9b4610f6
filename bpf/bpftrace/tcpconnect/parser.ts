import { errnoName } from '../../../src/core/errno.ts';
import { readCountMap } from '../../bpftrace-output.ts';
import { mergeHistograms, readHistMap, summarize, type Histogram } from '../../histogram.ts';
import { formatInetAddress, inetFamily } from '../../inet.ts';
import type { ParseContext } from '../../tool.ts';
import type { ConnectFailure, ConnectTarget, TcpconnectResult } from './result.ts';

/** "family,dport,cgroup,pid,daddr,comm": comm is last because it may hold commas; ntop() text has none. */
const TARGET_KEY = /^(\d+),(\d+),(\d+),(\d+),([^,]+),(.*)$/s;
/** @failed adds the socket's error before the address. */
const FAILED_KEY = /^(\d+),(\d+),(\d+),(\d+),(\d+),([^,]+),(.*)$/s;

const ECONNREFUSED = 111;
const ETIMEDOUT = 110;

interface Target {
  af: number;
  dport: number;
  cgroupId: number;
  pid: number;
  daddr: string;
  comm: string;
}

function targetKey(map: string, key: string): Target {
  const m = TARGET_KEY.exec(key);
  if (m === null) throw new Error(`unexpected ${map} key ${JSON.stringify(key)}: expected "family,dport,cgroup,pid,daddr,comm"`);
  const [, af = '', dport = '', cg = '', pid = '', daddr = '', comm = ''] = m;
  return { af: Number(af), dport: Number(dport), cgroupId: Number(cg), pid: Number(pid), daddr, comm };
}

function failedKey(key: string): Target & { errno: number } {
  const m = FAILED_KEY.exec(key);
  if (m === null) throw new Error(`unexpected @failed key ${JSON.stringify(key)}: expected "family,dport,cgroup,pid,errno,daddr,comm"`);
  const [, af = '', dport = '', cg = '', pid = '', errno = '', daddr = '', comm = ''] = m;
  return { af: Number(af), dport: Number(dport), cgroupId: Number(cg), pid: Number(pid), errno: Number(errno), daddr, comm };
}

/** The identity of a target as the program keys it (bpftrace's text, before any formatting). */
const idOf = (t: Target): string => JSON.stringify([t.af, t.dport, t.cgroupId, t.pid, t.daddr, t.comm]);

export const failureName = (errno: number): string => (errno === 0 ? 'closed' : errnoName(errno));

interface Acc {
  target: Target;
  attempts: number;
  established: number;
  failures: Map<number, number>;
  latency: Histogram | null;
  maxLatencyUs: number | null;
  maxFailureUs: number | null;
}

function failureList(counts: Map<number, number>): ConnectFailure[] {
  return [...counts]
    .sort(([ea, a], [eb, b]) => b - a || ea - eb)
    .map(([errno, count]) => ({ errno, error: failureName(errno), count }));
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const failedOf = (t: ConnectTarget): number => t.failures.reduce((s, f) => s + f.count, 0);

export function parseTcpconnect(stdout: string, maxTargets: number, ctx: ParseContext): TcpconnectResult {
  const accs = new Map<string, Acc>();
  const acc = (t: Target): Acc => {
    const id = idOf(t);
    let a = accs.get(id);
    if (a === undefined) {
      inetFamily(t.af, 'tcpconnect key');
      accs.set(id, (a = { target: t, attempts: 0, established: 0, failures: new Map(), latency: null, maxLatencyUs: null, maxFailureUs: null }));
    }
    return a;
  };
  for (const [key, n] of Object.entries(readCountMap(stdout, '@attempts'))) acc(targetKey('@attempts', key)).attempts += n;
  for (const [key, n] of Object.entries(readCountMap(stdout, '@established'))) acc(targetKey('@established', key)).established += n;
  for (const [key, n] of Object.entries(readCountMap(stdout, '@failed'))) {
    const k = failedKey(key);
    const f = acc(k).failures;
    f.set(k.errno, (f.get(k.errno) ?? 0) + n);
  }
  for (const [key, h] of Object.entries(readHistMap(stdout, '@latency_us', 'us'))) acc(targetKey('@latency_us', key)).latency = h;
  for (const [key, us] of Object.entries(readCountMap(stdout, '@latency_max_us'))) acc(targetKey('@latency_max_us', key)).maxLatencyUs = us;
  for (const [key, us] of Object.entries(readCountMap(stdout, '@failed_after_max_us'))) acc(targetKey('@failed_after_max_us', key)).maxFailureUs = us;

  const cgroupPaths = new Map<number, string | null>();
  const pathOf = (id: number): string | null => {
    if (id === 0) return null;
    if (!cgroupPaths.has(id)) cgroupPaths.set(id, ctx.cgroupPathOf(id));
    return cgroupPaths.get(id) ?? null;
  };
  const totals = new Map<number, number>();
  const rows = [...accs.values()].map((a): ConnectTarget => {
    const t = a.target;
    for (const [errno, n] of a.failures) totals.set(errno, (totals.get(errno) ?? 0) + n);
    const failed = [...a.failures.values()].reduce((s, n) => s + n, 0);
    return {
      comm: t.comm,
      pid: t.pid,
      cgroupId: t.cgroupId,
      cgroup: pathOf(t.cgroupId),
      family: inetFamily(t.af, 'tcpconnect key'),
      daddr: formatInetAddress(t.af, t.daddr, 'tcpconnect key'),
      dport: t.dport,
      attempts: a.attempts,
      established: a.established,
      refused: a.failures.get(ECONNREFUSED) ?? 0,
      timedOut: a.failures.get(ETIMEDOUT) ?? 0,
      failures: failureList(a.failures),
      // Attempts are counted at SYN_SENT, outcomes only for sockets seen there, so this is never negative.
      pending: Math.max(0, a.attempts - a.established - failed),
      latencyUs: a.latency === null ? null : summarize(a.latency),
      maxLatencyUs: a.maxLatencyUs,
      maxFailureUs: a.maxFailureUs,
    };
  });
  rows.sort(
    (a, b) =>
      failedOf(b) - failedOf(a) ||
      b.attempts - a.attempts ||
      cmp(a.comm, b.comm) ||
      a.pid - b.pid ||
      cmp(a.daddr, b.daddr) ||
      a.dport - b.dport ||
      a.cgroupId - b.cgroupId,
  );
  const latencies = [...accs.values()].flatMap((a) => (a.latency === null ? [] : [a.latency]));
  const sum = (f: (t: ConnectTarget) => number): number => rows.reduce((s, t) => s + f(t), 0);
  return {
    attempts: sum((t) => t.attempts),
    established: sum((t) => t.established),
    refused: sum((t) => t.refused),
    timedOut: sum((t) => t.timedOut),
    failed: sum(failedOf),
    failures: failureList(totals),
    latencyUs: latencies.length === 0 ? null : summarize(mergeHistograms(latencies, 'us')),
    targets: rows.slice(0, maxTargets),
    distinctTargets: rows.length,
  };
}
