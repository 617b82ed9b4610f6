/**
 * The latest health sweep's per-pod kernel figures as Prometheus series: run-queue and block I/O latency as
 * histograms whose buckets are bpftrace's own log2 buckets, failing syscalls and TCP retransmits as gauges of the
 * sweep's window. Rendered from the figures at each scrape, so a pod that left the latest sweep leaves /metrics too.
 */
import type { Metric, Registry } from 'prom-client';
import type { HistBucket } from '../../bpf/histogram.ts';
import type { NodeKernelFigures, PodKernelFigures } from '../sweeps/pod-figures.ts';

/**
 * Upper bounds (`le`) in µs: 2^0 .. 2^25 µs (1 µs .. 33.6 s), then +Inf. A log2 bucket [2^k, 2^(k+1) - 1] of floored
 * µs holds real times in [2^k, 2^(k+1)) µs, so at each bound the cumulative count is exact, not interpolated.
 */
export const LE_MICROS: readonly number[] = Array.from({ length: 26 }, (_, k) => 2 ** k);

export const SERIES = {
  runq: 'tracehound_pod_runqueue_latency_seconds',
  io: 'tracehound_pod_block_io_latency_seconds',
  retransmits: 'tracehound_pod_tcp_retransmits',
  syscalls: 'tracehound_pod_failing_syscalls',
  window: 'tracehound_node_kernel_sweep_window_seconds',
  otherPods: 'tracehound_node_kernel_sweep_other_pods',
} as const;

interface Value {
  metricName?: string;
  labels: Record<string, string>;
  value: number;
}

/** Exact `le` is printed as Prometheus clients do: decimal seconds. */
const leText = (micros: number): string => String(micros / 1e6);

/**
 * The cumulative buckets, `_sum` and `_count` of one recorded log2 histogram (µs). `_sum` is an estimate (each
 * bucket's values at its midpoint 1.5·2^k, the saturated bucket [2^31 µs, ∞) at its lower edge): between 0.75 and
 * 1.5 times the true sum, whatever the distribution (exact bucket counts, estimated positions inside them). Throws when a bucket straddles a bound: then the mapping would not be exact.
 */
export function histogramValues(name: string, buckets: readonly HistBucket[], labels: Record<string, string>): Value[] {
  for (const b of buckets) {
    const lo = b.low ?? Number.NEGATIVE_INFINITY;
    const hiExclusive = b.high === null ? Number.POSITIVE_INFINITY : b.high + 1;
    const straddled = LE_MICROS.find((le) => lo < le && le < hiExclusive);
    if (straddled !== undefined) throw new Error(`${name}: bucket [${b.low}, ${b.high}] µs is not a log2 bucket (straddles ${straddled} µs)`);
  }
  const out: Value[] = LE_MICROS.map((le) => ({
    metricName: `${name}_bucket`,
    labels: { ...labels, le: leText(le) },
    value: buckets.filter((b) => b.high !== null && b.high + 1 <= le).reduce((n, b) => n + b.count, 0),
  }));
  const count = buckets.reduce((n, b) => n + b.count, 0);
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
  const sumMicros = buckets.reduce((s, b) => {
    const point = b.low === null ? (b.high ?? 0) : b.high === null ? b.low : (b.low + b.high + 1) / 2;
    return s + b.count * point;
  }, 0);
  out.push({ metricName: `${name}_sum`, labels, value: sumMicros / 1e6 });
  out.push({ metricName: `${name}_count`, labels, value: count });
  return out;
}

const podLabels = (node: string, p: PodKernelFigures) => ({ node, namespace: p.namespace, pod: p.pod });

/** Every value of every series for these figures (pure): what one scrape shows. */
export function seriesValues(figures: readonly NodeKernelFigures[]): Record<keyof typeof SERIES, Value[]> {
  const out: Record<keyof typeof SERIES, Value[]> = { runq: [], io: [], retransmits: [], syscalls: [], window: [], otherPods: [] };
  for (const f of figures) {
    out.window.push({ labels: { node: f.node }, value: f.windowSeconds });
    out.otherPods.push({ labels: { node: f.node }, value: f.otherPods });
    for (const p of f.pods) {
      const labels = podLabels(f.node, p);
      // A figure the sweep did not measure on the node gives no series: an absent series is not a zero.
      if (f.measured.runq) out.runq.push(...histogramValues(SERIES.runq, p.runq, labels));
      if (f.measured.io) out.io.push(...histogramValues(SERIES.io, p.io, labels));
      if (f.measured.retransmits) out.retransmits.push({ labels, value: p.retransmits });
      if (f.measured.syscalls) for (const [errno, n] of Object.entries(p.failingSyscalls)) out.syscalls.push({ labels: { ...labels, errno }, value: n });
    }
  }
  return out;
}

/** The exposition's type names (prom-client's typings declare a numeric enum, but its registry prints this text). */
type SeriesType = 'histogram' | 'gauge';

const HELP: Record<keyof typeof SERIES, { type: SeriesType; help: string }> = {
  runq: { type: 'histogram', help: "Run-queue latency (runnable to running) of the pod's tasks in the latest health sweep's window; log2 buckets, _sum estimated" },
  io: { type: 'histogram', help: 'Block I/O device latency (issue to completion) of requests the pod submitted in the latest health sweep; log2 buckets, _sum estimated' },
  retransmits: { type: 'gauge', help: "TCP retransmits of the pod's sockets in the latest health sweep's window" },
  syscalls: { type: 'gauge', help: "Failing syscalls of the pod's processes by errno in the latest health sweep's window" },
  window: { type: 'gauge', help: "Length of the latest health sweep's capture window on the node (the pod gauges count over it)" },
  otherPods: { type: 'gauge', help: 'Pods of the node folded into pod="_other" by the top-N cap (SWEEP_METRICS_TOP_PODS) in the latest sweep' },
};

/** Where the figures come from at scrape time: the orchestrator reads the latest sweeps (records, inventory). */
export type PodKernelSource = () => Promise<readonly NodeKernelFigures[]>;

/**
 * Registers the series on `registry`, all rendered from one read of `source` per scrape (the six metrics of a
 * scrape share it). Returns what unregisters them.
 */
export function registerPodKernelSeries(registry: Registry, source: PodKernelSource): () => void {
  let pending: Promise<Record<keyof typeof SERIES, Value[]>> | null = null;
  const snapshot = () => {
    pending ??= source()
      .then(seriesValues)
      // A scrape must not fail for these series: the source logs its own trouble; no figures, no series.
      .catch(() => seriesValues([]))
      .finally(() => {
        // A scrape calls every metric's get() in one synchronous pass, so they all share this read by now; the
        // next scrape reads again.
        pending = null;
      });
    return pending;
  };
  const keys = Object.keys(SERIES) as (keyof typeof SERIES)[];
  const mine: { name: string; metric: Metric }[] = [];
  for (const key of keys) {
    const { type, help } = HELP[key];
    const metric = {
      name: SERIES[key],
      help,
      type,
      aggregator: 'first',
      async get() {
        return { name: SERIES[key], help, type, aggregator: 'first', values: (await snapshot())[key] };
      },
      reset() {},
    };
    // The latest registration wins (one process may hold several orchestrators, as tests do).
    registry.removeSingleMetric(SERIES[key]);
    // prom-client types registerMetric for its own classes only; the registry needs only name, help, type and get().
    const registered = metric as unknown as Metric;
    registry.registerMetric(registered);
    mine.push({ name: SERIES[key], metric: registered });
  }
  return () => {
    for (const { name, metric } of mine) if (registry.getSingleMetric(name) === metric) registry.removeSingleMetric(name);
  };
}
