/**
 * A health sweep's kernel figures per pod: one capture per node keys its histograms and counts by cgroup id in the
 * kernel (runqlat, biolatency's @cgusecs, tcpretrans by socket cgroup, syscount), and here the cgroups become pods.
 * Pure: which pod a cgroup belongs to comes from the result rows (the agent names a target pod's cgroups) or from
 * the kubelet's cgroup path (its pod uid) and a uid → pod table the caller reads from the inventory.
 */
import { z } from 'zod';
import { BiolatencyResult } from '../../bpf/bpftrace/biolatency/result.ts';
import { RunqlatResult } from '../../bpf/bpftrace/runqlat/result.ts';
import { SyscountResult } from '../../bpf/bpftrace/syscount/result.ts';
import { TcpretransResult } from '../../bpf/bpftrace/tcpretrans/result.ts';
import { HistBucket, mergeHistograms } from '../../bpf/histogram.ts';
import type { Investigation, Step } from '../core/investigation.ts';

/** The label values of the pods beyond the top N of a node, aggregated (histograms merge exactly: same log2 layout). */
export const OTHER_PODS = '_other';

export const PodKernelFigures = z.object({
  namespace: z.string(),
  pod: z.string(),
  /** Run-queue waits of the pod's tasks: bpftrace's log2 buckets in µs, as recorded ([] when none). */
  runq: z.array(HistBucket),
  /** Block I/O device times of requests the pod submitted, log2 buckets in µs ([] when none). */
  io: z.array(HistBucket),
  /** TCP retransmits of the pod's sockets in the window. */
  retransmits: z.number().int().nonnegative(),
  /** Failing syscalls in the window by errno name (ENOENT, EAGAIN, ...). */
  failingSyscalls: z.record(z.string(), z.number().int().nonnegative()),
  /** What ranks pods for the top N: kernel events seen (run-queue waits + block requests + retransmits + failures). */
  activity: z.number().int().nonnegative(),
});
export type PodKernelFigures = z.infer<typeof PodKernelFigures>;

export const NodeKernelFigures = z.object({
  node: z.string(),
  /** The sweep the figures come from. */
  investigationId: z.string(),
  /** Which figures the sweep measured on the node: a figure not measured gives no series (never a zero). */
  measured: z.object({ runq: z.boolean(), io: z.boolean(), retransmits: z.boolean(), syscalls: z.boolean() }),
  /** The longest capture window of those steps, in seconds: what the counts are "per". */
  windowSeconds: z.number().nonnegative(),
  /** Most active first; the `_other` entry, when there is one, last. */
  pods: z.array(PodKernelFigures),
  /** Pods folded into `_other` by the top-N cap (0 without one). */
  otherPods: z.number().int().nonnegative(),
});
export type NodeKernelFigures = z.infer<typeof NodeKernelFigures>;

export interface PodName {
  namespace: string;
  name: string;
}

/**
 * The pod uid in a kubelet cgroup path: `/kubepods/burstable/pod<uid>/<container>` (cgroupfs) or
 * `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid with _>.slice/cri-containerd-<id>.scope`
 * (systemd). Static pods have a 32-hex uid. Null for a cgroup outside any pod.
 */
const POD_SEGMENT = /(?:^|[/-])pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?:\.slice)?$/;

export function podUidOfCgroupPath(path: string): string | null {
  if (!/(^|\/)kubepods(\.slice)?(\/|$)/.test(path)) return null;
  for (const segment of path.split('/')) {
    const m = POD_SEGMENT.exec(segment);
    if (m?.[1]) return m[1].replaceAll('_', '-');
  }
  return null;
}

/** What the result rows say of a cgroup: its id, its path on the node, and the pod the agent named it after. */
interface CgroupRow {
  cgroupId: number;
  cgroup: string | null;
  pod?: string | null;
}

/** How a cgroup of a node becomes a pod: null leaves it out (not a pod: system services, the node's own). */
export type PodNamer = (row: CgroupRow) => PodName | null;

/** Rows the agent named ("namespace/name") first; else the kubelet path's uid, looked up in `byUid`. */
export function podNamer(byUid: ReadonlyMap<string, PodName>): PodNamer {
  return (row) => {
    if (row.pod) {
      const [namespace = '', name = ''] = row.pod.split('/');
      if (namespace && name) return { namespace, name };
    }
    const uid = row.cgroup === null ? null : podUidOfCgroupPath(row.cgroup);
    return uid === null ? null : (byUid.get(uid) ?? null);
  };
}

interface Accumulating {
  namespace: string;
  pod: string;
  runq: HistBucket[][];
  io: HistBucket[][];
  retransmits: number;
  failingSyscalls: Map<string, number>;
}

const TOOLS = { runq: 'runqlat', io: 'biolatency', retransmits: 'tcpretrans', syscalls: 'syscount' } as const;
type Figure = keyof typeof TOOLS;

/** The first succeeded step of `tool` on each node whose result parses, as sweepFigures picks them. */
function stepsByNode(inv: Pick<Investigation, 'steps'>, tool: string): Map<string, Step> {
  const out = new Map<string, Step>();
  for (const s of inv.steps) if (s.tool === tool && s.node !== null && s.status === 'succeeded' && !out.has(s.node)) out.set(s.node, s);
  return out;
}

const seconds = (s: Step): number => {
  const ms = s.startedAt && s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : Number.NaN;
  return Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0;
};

const mergeBuckets = (hs: HistBucket[][]): HistBucket[] => mergeHistograms(hs.map((buckets) => ({ unit: 'us' as const, buckets })), 'us').buckets;

const countOf = (buckets: readonly HistBucket[]) => buckets.reduce((n, b) => n + b.count, 0);

/** Per node of the sweep that ran any of the four tools there, its pods' figures (all pods; no cap yet). */
export function podKernelFigures(inv: Pick<Investigation, 'id' | 'steps'>, nameOf: (node: string) => PodNamer): NodeKernelFigures[] {
  const steps: Record<Figure, Map<string, Step>> = {
    runq: stepsByNode(inv, TOOLS.runq),
    io: stepsByNode(inv, TOOLS.io),
    retransmits: stepsByNode(inv, TOOLS.retransmits),
    syscalls: stepsByNode(inv, TOOLS.syscalls),
  };
  const nodes = [...new Set(Object.values(steps).flatMap((m) => [...m.keys()]))].sort();
  return nodes.map((node) => {
    const namer = nameOf(node);
    const pods = new Map<string, Accumulating>();
    const podOf = (row: CgroupRow): Accumulating | null => {
      const n = namer(row);
      if (n === null) return null;
      const key = `${n.namespace}/${n.name}`;
      let acc = pods.get(key);
      if (!acc) {
        acc = { namespace: n.namespace, pod: n.name, runq: [], io: [], retransmits: 0, failingSyscalls: new Map() };
        pods.set(key, acc);
      }
      return acc;
    };
    const measured = { runq: false, io: false, retransmits: false, syscalls: false };
    let windowSeconds = 0;
    const read = <S extends z.ZodType>(figure: Figure, schema: S, each: (r: z.output<S>) => void) => {
      const step = steps[figure].get(node);
      const parsed = step ? schema.safeParse(step.result) : null;
      if (!step || !parsed?.success) return;
      measured[figure] = true;
      windowSeconds = Math.max(windowSeconds, seconds(step));
      each(parsed.data);
    };
    read('runq', RunqlatResult, (r) => {
      for (const c of r.cgroups) podOf(c)?.runq.push(c.buckets);
    });
    read('io', BiolatencyResult, (r) => {
      for (const c of r.cgroups ?? []) podOf(c)?.io.push(c.buckets);
    });
    read('retransmits', TcpretransResult, (r) => {
      // Flows are the top `maxFlows` only; the flows' sum is what can be attributed to a pod.
      for (const f of r.flows) {
        const acc = podOf(f);
        if (acc) acc.retransmits += f.count;
      }
    });
    read('syscalls', SyscountResult, (r) => {
      for (const row of r.rows) {
        const acc = podOf(row);
        if (acc) acc.failingSyscalls.set(row.errno, (acc.failingSyscalls.get(row.errno) ?? 0) + row.count);
      }
    });
    const all = [...pods.values()].map(finish).sort(byActivity);
    return { node, investigationId: inv.id, measured, windowSeconds, pods: all, otherPods: 0 };
  });
}

function finish(a: Accumulating): PodKernelFigures {
  const runq = mergeBuckets(a.runq);
  const io = mergeBuckets(a.io);
  const failingSyscalls = Object.fromEntries([...a.failingSyscalls.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  const failures = Object.values(failingSyscalls).reduce((n, c) => n + c, 0);
  return {
    namespace: a.namespace,
    pod: a.pod,
    runq,
    io,
    retransmits: a.retransmits,
    failingSyscalls,
    activity: countOf(runq) + countOf(io) + a.retransmits + failures,
  };
}

const byActivity = (a: PodKernelFigures, b: PodKernelFigures) =>
  b.activity - a.activity || (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0);

/**
 * Bounded cardinality: the `topN` most active pods of the node keep their own series; the rest are summed into one
 * pod `_other` in namespace `_other` (histograms merged bucket by bucket, counts added), so node totals stay whole.
 */
export function capPods(f: NodeKernelFigures, topN: number): NodeKernelFigures {
  if (!Number.isInteger(topN) || topN < 1) throw new Error(`topN must be a positive integer, got ${topN}`);
  const sorted = [...f.pods].sort(byActivity);
  if (sorted.length <= topN) return { ...f, pods: sorted, otherPods: 0 };
  const rest = sorted.slice(topN);
  const failing = new Map<string, number>();
  for (const p of rest) for (const [errno, n] of Object.entries(p.failingSyscalls)) failing.set(errno, (failing.get(errno) ?? 0) + n);
  const other = finish({
    namespace: OTHER_PODS,
    pod: OTHER_PODS,
    runq: rest.map((p) => p.runq),
    io: rest.map((p) => p.io),
    retransmits: rest.reduce((n, p) => n + p.retransmits, 0),
    failingSyscalls: failing,
  });
  return { ...f, pods: [...sorted.slice(0, topN), other], otherPods: rest.length };
}
