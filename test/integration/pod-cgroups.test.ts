import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedTargetError } from '../../src/core/errors.ts';
import { QosClass, type PodRef } from '../../src/core/target.ts';
import { CgroupNames, detectCgroupDriver, podCgroups, type CgroupDriver, type ResolvedCgroup } from '../../workers/node-agent/pod-cgroups.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { buildPodCgroups, type FakePod, type FakePodCgroups } from '../helpers/fake-pod-cgroups.ts';
import { CGROUP_ROOT } from '../helpers/kernel.ts';

const run = randomBytes(3).toString('hex');
const hex64 = () => randomBytes(32).toString('hex');
/** The cgroup id as the kernel reports it, read independently of the resolver. */
const inode = (dir: string) => Number(execFileSync('stat', ['-c', '%i', dir], { encoding: 'utf8' }).trim());
const QOS = QosClass.options;

function fakePod(name: string, qosClass: PodRef['qosClass'], runtime = 'containerd'): FakePod {
  return {
    namespace: 'shop',
    name,
    uid: randomUUID(),
    qosClass,
    containers: [
      { name: 'app', id: `${runtime}://${hex64()}` },
      { name: 'sidecar', id: `${runtime}://${hex64()}` },
      { name: 'not-started', id: null },
    ],
    sandboxId: hex64(),
  };
}

/** What podCgroups must return for a fake pod: pod cgroup first, then every cgroup below it by path. */
function expected(tree: FakePodCgroups, index: number): ResolvedCgroup[] {
  const p = tree.pods[index]!;
  const owner = new Map<string, string | null>();
  for (const [name, path] of Object.entries(p.containers)) owner.set(path, name);
  for (const [name, path] of Object.entries(p.subgroups)) owner.set(path, name);
  if (p.sandbox) owner.set(p.sandbox, null);
  for (const path of p.conmon) owner.set(path, null);
  const below = [...owner.keys()].sort();
  return [p.path, ...below].map((path) => ({ path, id: inode(tree.dir(path)), pod: p.pod, container: owner.get(path) ?? null }));
}

describe.skipIf(skipBpf)(bpfSuiteName('pod → cgroup resolution on a real cgroup v2 tree'), () => {
  const trees: FakePodCgroups[] = [];
  beforeAll(() => assertBpf());
  afterAll(() => {
    for (const t of trees) t.remove();
  });

  describe.each(['systemd', 'cgroupfs'] as CgroupDriver[])('%s driver, containerd', (driver) => {
    const pods = QOS.map((q) => fakePod(`web-${q.toLowerCase()}`, q));
    let tree: FakePodCgroups;
    let pid: number;
    beforeAll(() => {
      tree = buildPodCgroups(join(CGROUP_ROOT, `th-node-a-${driver}-${run}`), { driver, runtime: 'containerd' }, pods);
      trees.push(tree);
      pid = tree.moveProcess(tree.pods[1]!.containers.app!);
    });

    it('detects the driver from the pods root', () => {
      expect(detectCgroupDriver(tree.root)).toBe(driver);
    });

    it.each(QOS.map((q, i) => [q, i] as const))('resolves a %s pod: pod cgroup, each container, the sandbox', (_q, i) => {
      const got = podCgroups(tree.root, pods[i]!, driver);
      expect(got).toEqual(expected(tree, i));
      // pod, app, sidecar, sandbox; the container without an id has no cgroup
      expect(got).toHaveLength(4);
      expect(got.filter((c) => c.container === null)).toHaveLength(2);
      // the driver is detected when not given
      expect(podCgroups(tree.root, pods[i]!)).toEqual(got);
    });

    it('spells the pod cgroup the way kubelet does', () => {
      const burstable = pods[1]!;
      const want =
        driver === 'systemd'
          ? `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${burstable.uid.replaceAll('-', '_')}.slice`
          : `/kubepods/burstable/pod${burstable.uid}`;
      expect(podCgroups(tree.root, burstable, driver)[0]?.path).toBe(want);
      const app = podCgroups(tree.root, burstable, driver).find((c) => c.container === 'app')!;
      const hex = burstable.containers[0]!.id!.slice('containerd://'.length);
      expect(app.path).toBe(driver === 'systemd' ? `${want}/cri-containerd-${hex}.scope` : `${want}/${hex}`);
    });

    it("lists the cgroup the kernel puts the container's process in, and names it back", () => {
      const entries = podCgroups(tree.root, pods[1]!, driver);
      const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'))!;
      const rootRel = tree.root.slice(CGROUP_ROOT.length);
      const app = entries.find((c) => c.container === 'app')!;
      expect(line).toBe(`0::${rootRel}${app.path}`);
      const names = new CgroupNames(entries);
      expect(names.nameOf(app.id)).toEqual({ pod: 'shop/web-burstable', container: 'app' });
      expect(names.nameOf(entries[0]!.id)).toEqual({ pod: 'shop/web-burstable', container: null });
      expect(names.nameOf(inode(tree.dir('/')))).toBeNull();
    });

    it('finds a pod whose QoS class was given wrong, and returns [] for a pod not on this node', () => {
      expect(podCgroups(tree.root, { ...pods[0]!, qosClass: 'BestEffort' }, driver)).toEqual(expected(tree, 0));
      expect(podCgroups(tree.root, fakePod('elsewhere', 'Burstable'), driver)).toEqual([]);
      // the other driver's layout does not exist here at all
      expect(podCgroups(tree.root, pods[1]!, driver === 'systemd' ? 'cgroupfs' : 'systemd')).toEqual([]);
    });
  });

  it('attributes crun sub-groups to their container and CRI-O conmon scopes to none (systemd, cri-o)', () => {
    const pod = fakePod('api', 'Burstable', 'cri-o');
    const tree = buildPodCgroups(join(CGROUP_ROOT, `th-node-b-${run}`), { driver: 'systemd', runtime: 'crio', subgroup: 'container' }, [pod]);
    trees.push(tree);
    const got = podCgroups(tree.root, pod);
    expect(got).toEqual(expected(tree, 0));
    const p = tree.pods[0]!;
    expect(got.find((c) => c.path === p.subgroups.app)?.container).toBe('app');
    expect(p.conmon).toHaveLength(2);
    expect(got.filter((c) => p.conmon.includes(c.path)).every((c) => c.container === null)).toBe(true);
    expect(got.find((c) => c.path === p.containers.sidecar)?.path).toMatch(/\/crio-[0-9a-f]{64}\.scope$/);
  });

  it("bpftrace's cgroup builtin reports the resolved id for a process in the container", async () => {
    const pod = fakePod('probe', 'Guaranteed');
    const tree = buildPodCgroups(join(CGROUP_ROOT, `th-node-c-${run}`), { driver: 'systemd', runtime: 'containerd' }, [pod]);
    trees.push(tree);
    const target = tree.moveProcess(tree.pods[0]!.containers.sidecar!);
    const want = podCgroups(tree.root, pod).find((c) => c.container === 'sidecar')!.id;
    // signal_deliver runs in the receiving task, so `cgroup` is the target's own cgroup.
    const program = 'tracepoint:signal:signal_deliver /pid == $1/ { printf("%llu\\n", cgroup); exit(); }';
    const bt = spawn('bpftrace', ['-f', 'json', '-e', program, String(target)], { stdio: ['ignore', 'pipe', 'ignore'] });
    // bpftrace 0.17 prints attached_probes before it attaches them, so keep stopping and continuing the target
    // (each stop is a delivered signal) until the probe has seen one.
    let out = '';
    let stimulus: NodeJS.Timeout | undefined;
    let stop = true;
    bt.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!stimulus && out.includes('attached_probes')) {
        stimulus = setInterval(() => {
          process.kill(target, stop ? 'SIGSTOP' : 'SIGCONT');
          stop = !stop;
        }, 50);
      }
    });
    const giveUp = setTimeout(() => bt.kill('SIGINT'), 30_000);
    await new Promise((r) => bt.on('close', r));
    clearTimeout(giveUp);
    clearInterval(stimulus);
    process.kill(target, 'SIGCONT');
    const printed = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; data: unknown })
      .find((m) => m.type === 'printf');
    expect(Number(String(printed?.data).trim())).toBe(want);
  });

  it('returns no driver and no cgroups where kubelet left no tree', () => {
    const empty = join(CGROUP_ROOT, `th-node-d-${run}`);
    mkdirSync(empty);
    try {
      expect(detectCgroupDriver(empty)).toBeNull();
      expect(podCgroups(empty, fakePod('x', 'Burstable'))).toEqual([]);
    } finally {
      rmdirSync(empty);
    }
  });

  it('refuses uids, container ids and names that could reach outside the pod cgroup', () => {
    const root = join(CGROUP_ROOT, `th-node-a-systemd-${run}`);
    const good = fakePod('x', 'Burstable');
    const bad: PodRef[] = [
      { ...good, uid: '../..' },
      { ...good, uid: '/' },
      { ...good, uid: '../../../../etc' },
      { ...good, uid: `${good.uid}/../..` },
      { ...good, uid: good.uid.toUpperCase() },
      { ...good, uid: '' },
      { ...good, containers: [{ name: 'app', id: 'containerd://../..' }] },
      { ...good, containers: [{ name: 'app', id: 'containerd:///' }] },
      { ...good, containers: [{ name: 'app', id: `containerd://${hex64()}/..` }] },
      { ...good, containers: [{ name: 'app', id: hex64() }] },
      { ...good, containers: [{ name: 'app', id: 'containerd://abc123' }] },
      { ...good, containers: [{ name: '../app', id: null }] },
      { ...good, namespace: '../kube-system' },
      { ...good, name: 'a/b' },
      { ...good, qosClass: 'Root' as PodRef['qosClass'] },
    ];
    for (const pod of bad) expect(() => podCgroups(root, pod, 'systemd'), JSON.stringify(pod)).toThrow(UnsupportedTargetError);
    const id = `containerd://${hex64()}`;
    expect(() => podCgroups(root, { ...good, containers: [{ name: 'a', id }, { name: 'b', id }] })).toThrow(/same container id/);
    expect(podCgroups(root, good, 'systemd')).toEqual([]);
  });
});
