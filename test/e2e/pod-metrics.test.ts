import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Investigation } from '../../src/core/investigation.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { startFakeKubeApi, type FakeKubeApi } from '../helpers/fake-kube-api.ts';
import { buildPodCgroups, type FakePodCgroups } from '../helpers/fake-pod-cgroups.ts';
import { CGROUP_ROOT } from '../helpers/kernel.ts';
import { recordedPod, runInCgroupDir } from '../helpers/recorded-pods.ts';
import { describeSteps } from '../helpers/steps.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/** The value of the one sample line `name{labels}`, labels in exposition order; undefined when absent. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/**
 * Per-pod kernel series end to end: a scheduled node-wide health sweep on a node whose two pods (both recorded on
 * node-a: web-1 Guaranteed, cart-7d9f Burstable) have kubelet cgroup trees built under the real cgroup v2 mount.
 * One pod is busy (CPU-bound loops, direct writes, failing opens), the other nearly idle. The captures key by cgroup
 * in the kernel; the inventory's pods of the node name the cgroups; /metrics shows each pod apart.
 */
describe.skipIf(skipBpf)(bpfSuiteName('per-pod kernel metrics from scheduled sweeps on /metrics'), () => {
  let api: FakeKubeApi;
  let sys: TestSystem;
  let tree: FakePodCgroups;
  const procs: ChildProcess[] = [];
  const web = recordedPod('web-1');
  const cart = recordedPod('cart-7d9f');
  const ioFile = `/var/tmp/th-pod-metrics-${process.pid}`;

  const inCgroup = (path: string, script: string) => runInCgroupDir(tree.dir(path), script);

  beforeAll(async () => {
    assertBpf();
    api = await startFakeKubeApi();
    tree = buildPodCgroups(join(CGROUP_ROOT, `th-podmetrics-${process.pid}`), { driver: 'systemd', runtime: 'containerd' }, [web, cart]);
    const webPath = tree.pods[0]!.containers.nginx!;
    const cartPath = tree.pods[1]!.containers['aws-node']!;
    // The busy pod: two CPU-bound loops (run-queue waits), direct writes (block I/O), opens of a missing file (ENOENT).
    procs.push(inCgroup(webPath, 'while :; do :; done'), inCgroup(webPath, 'while :; do :; done'));
    procs.push(inCgroup(webPath, `while :; do dd if=/dev/zero of=${ioFile} bs=64k count=16 oflag=direct 2>/dev/null; done`));
    procs.push(inCgroup(webPath, 'while :; do cat /nonexistent-th-pod-metrics 2>/dev/null; sleep 0.01; done'));
    // The quiet pod: wakes up five times a second.
    procs.push(inCgroup(cartPath, 'while :; do sleep 0.2; done'));

    process.env.KUBECONFIG = api.kubeconfig;
    sys = await startSystem({ env: { NODE_NAME: 'node-a', CGROUP_ROOT: tree.root, INVENTORY: 'kubernetes', SCHEDULE_MIN_INTERVAL: '1s', SWEEP_METRICS_TOP_PODS: '20' } });
  });

  afterAll(async () => {
    await fetch(`${sys?.url}/v1/schedules/pod-kmetrics`, { method: 'DELETE', headers: { authorization: `Bearer ${sys?.tokens.admin}` } }).catch(() => undefined);
    for (const p of procs) p.kill('SIGKILL');
    await sys?.stop();
    delete process.env.KUBECONFIG;
    tree?.remove();
    rmSync(ioFile, { force: true });
    await api?.close();
  });

  it('a node-wide sweep gives each pod its own series, labelled node, namespace and pod, busy figures for the busy pod', async () => {
    const created = await sys.post('/v1/schedules', { name: 'pod-kmetrics', every: '30s', playbook: 'health-sweep', params: { duration: '2s' } });
    expect(created.status, JSON.stringify(created.json)).toBe(201);

    const deadline = Date.now() + 120_000;
    let sweep: Investigation | undefined;
    while (!sweep) {
      const items = (await sys.get('/v1/investigations?limit=50')).json.items as Investigation[];
      sweep = items.find((i) => i.schedule === 'pod-kmetrics' && ['succeeded', 'failed', 'cancelled'].includes(i.status));
      if (!sweep && Date.now() > deadline) throw new Error('the scheduled sweep did not end within 120 s');
      if (!sweep) await new Promise((r) => setTimeout(r, 500));
    }
    expect(sweep.status, describeSteps(sweep.steps)).toBe('succeeded');
    expect(sweep.target ?? {}).toEqual({});

    const res = await fetch(`${sys.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const webLabels = 'node="node-a",namespace="shop",pod="web-1"';
    const cartLabels = 'node="node-a",namespace="shop",pod="cart-7d9f"';

    const webWaits = sample(text, 'tracehound_pod_runqueue_latency_seconds_count', webLabels);
    const cartWaits = sample(text, 'tracehound_pod_runqueue_latency_seconds_count', cartLabels);
    expect(webWaits, text.split('\n').filter((l) => l.startsWith('tracehound_pod_')).slice(0, 40).join('\n')).toBeGreaterThan(0);
    expect(cartWaits).toBeGreaterThan(0);
    expect(sample(text, 'tracehound_pod_runqueue_latency_seconds_bucket', `${webLabels},le="+Inf"`)).toBe(webWaits);
    expect(sample(text, 'tracehound_pod_runqueue_latency_seconds_sum', webLabels)).toBeGreaterThan(0);

    const webIo = sample(text, 'tracehound_pod_block_io_latency_seconds_count', webLabels) ?? 0;
    expect(webIo).toBeGreaterThan(0);
    expect(webIo).toBeGreaterThan(sample(text, 'tracehound_pod_block_io_latency_seconds_count', cartLabels) ?? 0);

    // Every exec fails a few lookups (PATH search, /etc/ld.so.preload): the quiet pod has some ENOENT too, far fewer.
    const webEnoent = sample(text, 'tracehound_pod_failing_syscalls', `${webLabels},errno="ENOENT"`) ?? 0;
    expect(webEnoent).toBeGreaterThan(0);
    expect(webEnoent).toBeGreaterThan(sample(text, 'tracehound_pod_failing_syscalls', `${cartLabels},errno="ENOENT"`) ?? 0);
    expect(sample(text, 'tracehound_pod_tcp_retransmits', webLabels)).toBe(0);
    expect(sample(text, 'tracehound_node_kernel_sweep_window_seconds', 'node="node-a"')).toBeGreaterThan(1);
    expect(sample(text, 'tracehound_node_kernel_sweep_other_pods', 'node="node-a"')).toBe(0);

    // Only the node's pods: no series for the host's other cgroups, and no container or pid labels.
    const pods = new Set([...text.matchAll(/^tracehound_pod_\w+\{[^}]*pod="([^"]+)"/gm)].map((m) => m[1]));
    expect(pods).toEqual(new Set(['web-1', 'cart-7d9f']));
    expect(text).not.toMatch(/^tracehound_pod_\w+\{[^}]*(container|pid|cgroup)=/m);
  });
});
