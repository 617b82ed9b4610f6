import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Investigation } from '../../src/core/investigation.ts';
import type { SyscountResult } from '../../bpf/bpftrace/syscount/result.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { startFakeKubeApi, type FakeKubeApi } from '../helpers/fake-kube-api.ts';
import { buildPodCgroups, type FakePodCgroups } from '../helpers/fake-pod-cgroups.ts';
import { CGROUP_ROOT, mountTmpfs } from '../helpers/kernel.ts';
import { recordedPod, runInCgroupDir } from '../helpers/recorded-pods.ts';
import { describeSteps, expectStepOnNodes } from '../helpers/steps.ts';
import { killAgent, startAgentProcess } from '../helpers/agent-process.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/**
 * Kubernetes targets end to end: pods from a stand-in API server (recorded responses), two node agents with the
 * kubelet's cgroup trees for those pods (systemd driver on node-a, cgroupfs on node-b) built under the real cgroup
 * v2 mount, processes failing with ENOSPC inside the containers' cgroups. Results must name the pods.
 */
describe.skipIf(skipBpf)(bpfSuiteName('pods: inventory → cgroups → kernel filter → pod names'), () => {
  let api: FakeKubeApi;
  let sys: TestSystem;
  let nodeA: FakePodCgroups;
  let nodeB: FakePodCgroups;
  let fs: { dir: string; unmount(): void };
  let bin: string;
  let agentB: ChildProcess | undefined;
  const procs: ChildProcess[] = [];
  const cart7 = recordedPod('cart-7d9f');
  const cart8 = recordedPod('cart-8x2k');

  beforeAll(async () => {
    assertBpf();
    api = await startFakeKubeApi();
    nodeA = buildPodCgroups(join(CGROUP_ROOT, `th-node-a-${process.pid}`), { driver: 'systemd', runtime: 'containerd' }, [cart7]);
    nodeB = buildPodCgroups(join(CGROUP_ROOT, `th-node-b-${process.pid}`), { driver: 'cgroupfs', runtime: 'containerd' }, [cart8]);
    fs = mountTmpfs(1024);
    spawnSync('dd', ['if=/dev/zero', `of=${fs.dir}/ballast`, 'bs=64k'], { stdio: 'ignore' });
    bin = mkdtempSync(join(tmpdir(), 'th-bin-'));
    copyFileSync('/usr/bin/dd', join(bin, 'cart-writer'));
    chmodSync(join(bin, 'cart-writer'), 0o755);
    // One writer in a container of each pod, failing with ENOSPC over and over.
    const loop = `while :; do "${bin}/cart-writer" if=/dev/zero of="${fs.dir}/more" bs=4k count=1 oflag=append conv=notrunc 2>/dev/null; sleep 0.05; done`;
    for (const [tree, path] of [[nodeA, nodeA.pods[0]!.containers['aws-node']!], [nodeB, nodeB.pods[0]!.containers['ray-head']!]] as const) {
      procs.push(runInCgroupDir(tree.dir(path), loop));
    }

    process.env.KUBECONFIG = api.kubeconfig;
    sys = await startSystem({ env: { NODE_NAME: 'node-a', CGROUP_ROOT: nodeA.root, INVENTORY: 'kubernetes' } });
    agentB = await startAgentProcess(sys, 'node-b', { CGROUP_ROOT: nodeB.root, INVENTORY: 'none' });
  });

  afterAll(async () => {
    if (agentB) killAgent(agentB);
    for (const p of procs) p.kill('SIGKILL');
    await sys?.stop();
    delete process.env.KUBECONFIG;
    nodeA?.remove();
    nodeB?.remove();
    fs?.unmount();
    if (bin) rmSync(bin, { recursive: true, force: true });
    await api?.close();
  });

  const rowsOf = (inv: Investigation, node: string) => (inv.steps.find((s) => s.id === 'errors' && s.node === node)?.result as SyscountResult | undefined)?.rows ?? [];

  it('a label selector spanning two nodes fans out to both, and every row names its pod', async () => {
    const res = await sys.post('/v1/investigations', { playbook: 'enospc', target: { namespace: 'shop', labelSelector: 'app=cart' }, params: { duration: '3s' } });
    expect(res.status).toBe(202);
    const inv = await sys.waitFor(res.json.id as string, undefined, 60_000);
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    expectStepOnNodes(inv, 'errors', { 'node-a': 'succeeded', 'node-b': 'succeeded' });

    const a = rowsOf(inv, 'node-a');
    const b = rowsOf(inv, 'node-b');
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    expect(a.every((r) => r.pod === 'shop/cart-7d9f')).toBe(true);
    expect(b.every((r) => r.pod === 'shop/cart-8x2k')).toBe(true);
    expect(a).toContainEqual(expect.objectContaining({ syscall: 'write', errno: 'ENOSPC', comm: 'cart-writer', container: 'aws-node' }));
    expect(b).toContainEqual(expect.objectContaining({ syscall: 'write', errno: 'ENOSPC', comm: 'cart-writer', container: 'ray-head' }));
    const detail = inv.summary?.findings.find((f) => f.title.startsWith('write(2) fails with ENOSPC'))?.detail ?? '';
    // The finding lists the top processes (each dd is a new pid): they are named by pod and node, not cgroup.
    const named = [...detail.matchAll(/^- cart-writer \(pid \d+, (pod \S+, node \S+)\): \d+ times?(, on .+)?$/gm)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    for (const n of named) expect(['pod shop/cart-7d9f, node node-a', 'pod shop/cart-8x2k, node node-b']).toContain(n);
  });

  it('a pod target runs only on its node', async () => {
    const res = await sys.post('/v1/investigations', { playbook: 'enospc', target: { pod: 'shop/cart-8x2k' }, params: { duration: '2s' } });
    const inv = await sys.waitFor(res.json.id as string, undefined, 60_000);
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    expect(inv.steps.filter((s) => s.id === 'errors').map((s) => s.node)).toEqual(['node-b']);
    expect(rowsOf(inv, 'node-b').every((r) => r.pod === 'shop/cart-8x2k')).toBe(true);
  });

  it('an unknown pod is a 404 naming it, and nothing is queued', async () => {
    const res = await sys.post('/v1/investigations', { playbook: 'enospc', target: { pod: 'shop/nope' } });
    expect(res.status).toBe(404);
    expect(res.json.detail).toContain('shop/nope');
  });
});
