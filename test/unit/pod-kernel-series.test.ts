import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseBiolatency } from '../../bpf/bpftrace/biolatency/parser.ts';
import { parseRunqlat } from '../../bpf/bpftrace/runqlat/parser.ts';
import { parseSyscount } from '../../bpf/bpftrace/syscount/parser.ts';
import { parseTcpretrans } from '../../bpf/bpftrace/tcpretrans/parser.ts';
import type { Investigation, Step } from '../../src/core/investigation.ts';
import { LE_MICROS, histogramValues, registerPodKernelSeries } from '../../src/metrics/pod-kernel-series.ts';
import { OTHER_PODS, capPods, podKernelFigures, podNamer, podUidOfCgroupPath, type NodeKernelFigures, type PodKernelFigures } from '../../src/sweeps/pod-figures.ts';
import { recordingContext, toolFixture } from '../helpers/recordings.ts';

/** Two pods as kubelet lays them out (systemd driver, cgroupfs driver) and the uids the inventory names them by. */
const WEB_UID = 'a6501da1-0447-4262-98eb-c03d4002222e';
const CART_UID = 'e3776cf9-85ce-40f3-8af5-7d7c95287294';
const WEB_POD = `/kubepods.slice/kubepods-pod${WEB_UID.replaceAll('-', '_')}.slice`;
const CART_POD = `/kubepods/burstable/pod${CART_UID}`;
const byUid = new Map([
  [WEB_UID, { namespace: 'shop', name: 'web-1' }],
  [CART_UID, { namespace: 'shop', name: 'cart-7d9f' }],
]);

/**
 * The recordings' cgroup ids mapped onto those pods: runqlat's hog cgroup (443) and biolatency's dd cgroup (55828) into
 * web-1's containers, tcpretrans's (1260) and syscount's (63) into cart-7d9f; id 1 (the root) is no pod.
 */
const paths: Record<number, string> = {
  1: '/',
  443: `${WEB_POD}/cri-containerd-${'a'.repeat(64)}.scope`,
  55828: `${WEB_POD}/cri-containerd-${'b'.repeat(64)}.scope`,
  1260: `${CART_POD}/${'c'.repeat(64)}`,
  63: `${CART_POD}/${'d'.repeat(64)}`,
};

const step = (id: string, tool: string, result: unknown, seconds = 3): Step => ({
  id, tool, node: 'node-a', status: 'succeeded', result, artifacts: [],
  startedAt: '2026-12-06T08:00:00.000Z', finishedAt: new Date(Date.parse('2026-12-06T08:00:00.000Z') + seconds * 1000).toISOString(),
});

function recordedSweep(): Pick<Investigation, 'id' | 'steps'> {
  const ctx = recordingContext(paths);
  return {
    id: 'inv_sweep',
    steps: [
      step('runq', 'runqlat', parseRunqlat(toolFixture('runqlat', 'hogs-node.json'), ctx)),
      step('io', 'biolatency', parseBiolatency(toolFixture('biolatency', 'dd-node-cgroups.json'), () => null, ctx.cgroupPathOf), 6),
      step('retrans', 'tcpretrans', parseTcpretrans(toolFixture('tcpretrans', 'loopback-cgroup.json'), 20, ctx)),
      step('errors', 'syscount', parseSyscount(toolFixture('syscount', 'enospc-cgroup.json'), ctx)),
    ],
  };
}

/** Every sample line of the exposition whose name is `name`, as "labels value". */
async function scrape(registry: Registry): Promise<string> {
  return registry.metrics();
}
const lines = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

describe('per-pod kernel figures of a sweep', () => {
  it('finds the pod uid in kubelet cgroup paths of both drivers, static pods included, and nothing elsewhere', () => {
    expect(podUidOfCgroupPath(paths[443]!)).toBe(WEB_UID);
    expect(podUidOfCgroupPath(CART_POD)).toBe(CART_UID);
    expect(podUidOfCgroupPath(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${'f'.repeat(32)}.slice`)).toBe('f'.repeat(32));
    expect(podUidOfCgroupPath('/system.slice/pod-manager.service')).toBeNull();
    expect(podUidOfCgroupPath(`/user.slice/pod${CART_UID}`)).toBeNull();
    expect(podUidOfCgroupPath('/')).toBeNull();
  });

  it('folds the recorded captures into pods by cgroup, leaving cgroups outside pods out', () => {
    const [node, ...more] = podKernelFigures(recordedSweep(), () => podNamer(byUid));
    expect(more).toEqual([]);
    expect(node!.node).toBe('node-a');
    expect(node!.measured).toEqual({ runq: true, io: true, retransmits: true, syscalls: true });
    expect(node!.windowSeconds).toBe(6);
    const web = node!.pods.find((p) => p.pod === 'web-1')!;
    const cart = node!.pods.find((p) => p.pod === 'cart-7d9f')!;
    expect(node!.pods).toHaveLength(2);
    // runqlat's cgroup 443 recorded 742 waits; biolatency's dd cgroup 201 requests.
    expect(web.runq.reduce((n, b) => n + b.count, 0)).toBe(742);
    expect(web.io.reduce((n, b) => n + b.count, 0)).toBe(201);
    expect(web.retransmits).toBe(0);
    expect(cart.retransmits).toBe(2 + 5 + 67 + 95);
    expect(cart.failingSyscalls).toEqual({ ENOSPC: 22 });
    expect(cart.runq).toEqual([]);
    expect(web.activity).toBe(742 + 201);
  });

  it('names a row by the pod the agent gave it before looking at its path', () => {
    const namer = podNamer(new Map());
    expect(namer({ cgroupId: 5, cgroup: null, pod: 'shop/cart-8x2k' })).toEqual({ namespace: 'shop', name: 'cart-8x2k' });
    expect(namer({ cgroupId: 5, cgroup: CART_POD })).toBeNull();
  });
});

describe('exposition', () => {
  it('maps a recorded log2 histogram onto cumulative le buckets exactly, with _count exact and _sum estimated', () => {
    const recorded = parseRunqlat(toolFixture('runqlat', 'hogs-node.json'), recordingContext(paths)).cgroups.find((c) => c.cgroupId === 443)!;
    const values = histogramValues('x', recorded.buckets, { pod: 'p' });
    const at = (le: string) => values.find((v) => v.labels.le === le)?.value;
    // From the recording: [4,7] 17, [8,15] 27, [16,31] 22, ..., [2048,4095] 257, ..., [65536,131071] 3; 742 in all.
    expect(at('0.000001')).toBe(0);
    expect(at('0.000004')).toBe(0);
    expect(at('0.000008')).toBe(17);
    expect(at('0.000016')).toBe(17 + 27);
    expect(at('0.000032')).toBe(17 + 27 + 22);
    expect(at('0.004096')).toBe(406);
    expect(at('0.131072')).toBe(742);
    expect(at('33.554432')).toBe(742);
    expect(at('+Inf')).toBe(742);
    expect(values.filter((v) => v.metricName === 'x_bucket')).toHaveLength(LE_MICROS.length + 1);
    // Each bucket's count appears exactly once, at its own upper edge: differences of the cumulative counts.
    for (const b of recorded.buckets) expect(at(String((b.high! + 1) / 1e6))! - at(String(b.low! / 1e6))!).toBe(b.count);
    expect(values.find((v) => v.metricName === 'x_count')?.value).toBe(742);
    // The estimate puts each log2 bucket's values at 1.5 × its lower edge.
    const sum = recorded.buckets.reduce((s, b) => s + b.count * 1.5 * b.low!, 0) / 1e6;
    expect(values.find((v) => v.metricName === 'x_sum')?.value).toBeCloseTo(sum, 9);
  });

  it('refuses buckets that are not log2 rather than place them wrongly', () => {
    expect(() => histogramValues('x', [{ low: 10, high: 19, count: 1 }], {})).toThrow(/not a log2 bucket/);
    // The saturated bucket [2^31, ∞) only reaches +Inf.
    const sat = histogramValues('x', [{ low: 2 ** 31, high: null, count: 4 }], {});
    expect(sat.find((v) => v.labels.le === '33.554432')?.value).toBe(0);
    expect(sat.find((v) => v.labels.le === '+Inf')?.value).toBe(4);
  });

  it('serves the series with node, namespace and pod labels, errno for syscalls, and no pid or container labels', async () => {
    const registry = new Registry();
    const [fig] = podKernelFigures(recordedSweep(), () => podNamer(byUid));
    registerPodKernelSeries(registry, async () => [capPods(fig!, 20)]);
    const text = await scrape(registry);
    expect(text).toContain('# TYPE tracehound_pod_runqueue_latency_seconds histogram');
    expect(text).toContain('# TYPE tracehound_pod_block_io_latency_seconds histogram');
    expect(text).toContain('# TYPE tracehound_pod_tcp_retransmits gauge');
    expect(text).toContain('# TYPE tracehound_pod_failing_syscalls gauge');
    expect(lines(text, 'tracehound_pod_runqueue_latency_seconds_count')).toEqual([
      'tracehound_pod_runqueue_latency_seconds_count{node="node-a",namespace="shop",pod="web-1"} 742',
      'tracehound_pod_runqueue_latency_seconds_count{node="node-a",namespace="shop",pod="cart-7d9f"} 0',
    ]);
    expect(lines(text, 'tracehound_pod_block_io_latency_seconds_bucket')).toContain(
      'tracehound_pod_block_io_latency_seconds_bucket{node="node-a",namespace="shop",pod="web-1",le="0.000512"} 99',
    );
    expect(lines(text, 'tracehound_pod_tcp_retransmits')).toEqual([
      'tracehound_pod_tcp_retransmits{node="node-a",namespace="shop",pod="web-1"} 0',
      'tracehound_pod_tcp_retransmits{node="node-a",namespace="shop",pod="cart-7d9f"} 169',
    ]);
    expect(lines(text, 'tracehound_pod_failing_syscalls')).toEqual(['tracehound_pod_failing_syscalls{node="node-a",namespace="shop",pod="cart-7d9f",errno="ENOSPC"} 22']);
    expect(lines(text, 'tracehound_node_kernel_sweep_window_seconds')).toEqual(['tracehound_node_kernel_sweep_window_seconds{node="node-a"} 6']);
    expect(text).not.toMatch(/(pid|container|cgroup)=/);
  });

  it('gives no series for a figure the sweep did not measure on the node', async () => {
    const registry = new Registry();
    const inv = recordedSweep();
    inv.steps = inv.steps.map((s) => (s.tool === 'tcpretrans' ? { ...s, status: 'failed', result: undefined } : s));
    const [fig] = podKernelFigures(inv, () => podNamer(byUid));
    registerPodKernelSeries(registry, async () => [fig!]);
    const text = await scrape(registry);
    expect(lines(text, 'tracehound_pod_tcp_retransmits')).toEqual([]);
    expect(lines(text, 'tracehound_pod_runqueue_latency_seconds_count')).toHaveLength(2);
  });
});

describe('bounded cardinality', () => {
  const pod = (name: string, waits: number, failures: number): PodKernelFigures => ({
    namespace: 'ns',
    pod: name,
    runq: waits > 0 ? [{ low: 8, high: 15, count: waits }] : [],
    io: [],
    retransmits: 1,
    failingSyscalls: failures > 0 ? { EAGAIN: failures } : {},
    activity: waits + failures + 1,
  });
  const node = (pods: PodKernelFigures[]): NodeKernelFigures => ({
    node: 'n1', investigationId: 'inv_x', measured: { runq: true, io: true, retransmits: true, syscalls: true }, windowSeconds: 3, pods, otherPods: 0,
  });

  it('keeps the top N pods by activity and sums the rest into _other, exactly', async () => {
    const pods = Array.from({ length: 30 }, (_, i) => pod(`p${String(i).padStart(2, '0')}`, i * 10, i % 3));
    const capped = capPods(node(pods), 5);
    expect(capped.pods.map((p) => p.pod)).toEqual(['p29', 'p28', 'p27', 'p26', 'p25', OTHER_PODS]);
    expect(capped.otherPods).toBe(25);
    const other = capped.pods.at(-1)!;
    const rest = pods.slice(0, 25);
    expect(other.namespace).toBe(OTHER_PODS);
    expect(other.runq).toEqual([{ low: 8, high: 15, count: rest.reduce((n, p) => n + (p.runq[0]?.count ?? 0), 0) }]);
    expect(other.retransmits).toBe(25);
    expect(other.failingSyscalls).toEqual({ EAGAIN: rest.reduce((n, p) => n + (p.failingSyscalls.EAGAIN ?? 0), 0) });

    const registry = new Registry();
    registerPodKernelSeries(registry, async () => [capped]);
    const text = await scrape(registry);
    const podsSeen = new Set(lines(text, 'tracehound_pod_runqueue_latency_seconds_count').map((l) => /pod="([^"]+)"/.exec(l)?.[1]));
    expect(podsSeen).toEqual(new Set(['p29', 'p28', 'p27', 'p26', 'p25', OTHER_PODS]));
    // 6 pods × (26 bounds + +Inf) bucket lines: the cap bounds the series whatever the node runs.
    expect(lines(text, 'tracehound_pod_runqueue_latency_seconds_bucket')).toHaveLength(6 * (LE_MICROS.length + 1));
    expect(lines(text, 'tracehound_node_kernel_sweep_other_pods')).toEqual(['tracehound_node_kernel_sweep_other_pods{node="n1"} 25']);
  });

  it('leaves pods alone under the cap, and refuses a cap that is not a positive integer', () => {
    expect(capPods(node([pod('a', 1, 0), pod('b', 5, 0)]), 20).pods.map((p) => p.pod)).toEqual(['b', 'a']);
    expect(() => capPods(node([]), 0)).toThrow(/positive integer/);
  });

  it('drops the series of a pod that left the latest sweep', async () => {
    const registry = new Registry();
    let current = node([pod('stays', 5, 0), pod('leaves', 9, 1)]);
    registerPodKernelSeries(registry, async () => [current]);
    expect(await scrape(registry)).toContain('pod="leaves"');
    current = node([pod('stays', 7, 0)]);
    const after = await scrape(registry);
    expect(after).not.toContain('pod="leaves"');
    expect(lines(after, 'tracehound_pod_runqueue_latency_seconds_count')).toEqual([
      'tracehound_pod_runqueue_latency_seconds_count{node="n1",namespace="ns",pod="stays"} 7',
    ]);
  });

  it('a source that fails leaves the scrape whole, without these series', async () => {
    const registry = new Registry();
    registerPodKernelSeries(registry, async () => {
      throw new Error('redis down');
    });
    const text = await scrape(registry);
    expect(text).toContain('# TYPE tracehound_pod_tcp_retransmits gauge');
    expect(lines(text, 'tracehound_pod_tcp_retransmits')).toEqual([]);
  });
});
