import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PodRef } from '../../src/core/target.ts';
import type { CgroupDriver } from '../../workers/node-agent/pod-cgroups.ts';

/**
 * Fake kubelet cgroup trees, built for real under the cgroup v2 mount so their ids are real cgroup ids.
 * The names are spelled out here independently of workers/node-agent/pod-cgroups.ts, so tests of the resolver
 * compare it against a second rendering of kubelet's and the runtimes' naming, not against itself.
 */
export type FakeRuntime = 'containerd' | 'crio' | 'docker';

export interface FakeLayout {
  driver: CgroupDriver;
  runtime: FakeRuntime;
  /** crun-style sub-cgroup created inside every container cgroup (crun uses "container" on cgroup v2 with systemd). */
  subgroup?: string;
}

export interface FakePod extends PodRef {
  /** The pause/sandbox container's id (64 hex): gets a cgroup of its own beside the containers. */
  sandboxId?: string;
}

export interface FakePodPaths {
  /** "namespace/name". */
  pod: string;
  uid: string;
  /** The pod-level cgroup, below root. */
  path: string;
  /** Container name → its cgroup below root (only containers with an id get one). */
  containers: Record<string, string>;
  /** Container name → the crun subgroup inside its cgroup, when the layout asks for one. */
  subgroups: Record<string, string>;
  /** The sandbox cgroup, when the pod has a sandboxId. */
  sandbox: string | null;
  /** CRI-O's conmon cgroups (one per container), which belong to no container. */
  conmon: string[];
}

export interface FakePodCgroups {
  /** Absolute directory standing in for the cgroup root: pass it to the resolver as `root`. */
  root: string;
  /** Every cgroup created, below root, parents before children. */
  paths: string[];
  /** One entry per input pod, in input order. */
  pods: FakePodPaths[];
  /** Absolute directory of a path below root. */
  dir(path: string): string;
  /** Starts a sleeping process and moves it into the cgroup at `path` (below root); returns its pid. */
  moveProcess(path: string): number;
  /** Kills every process left in the tree, then removes every cgroup created (leaf first), and root if it made it. */
  remove(): void;
}

const hexOf = (id: string) => id.slice(id.indexOf('://') + 3);

function containerDir(layout: FakeLayout, hex: string): string {
  if (layout.driver === 'systemd') {
    const prefix = { containerd: 'cri-containerd', crio: 'crio', docker: 'docker' }[layout.runtime];
    return `${prefix}-${hex}.scope`;
  }
  return layout.runtime === 'crio' ? `crio-${hex}` : hex;
}

function podPath(layout: FakeLayout, pod: FakePod): string {
  if (layout.driver === 'cgroupfs') {
    if (pod.qosClass === 'Guaranteed') return `/kubepods/pod${pod.uid}`;
    if (pod.qosClass === 'Burstable') return `/kubepods/burstable/pod${pod.uid}`;
    return `/kubepods/besteffort/pod${pod.uid}`;
  }
  const u = pod.uid.replaceAll('-', '_');
  if (pod.qosClass === 'Guaranteed') return `/kubepods.slice/kubepods-pod${u}.slice`;
  if (pod.qosClass === 'Burstable') return `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u}.slice`;
  return `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${u}.slice`;
}

function procsOf(abs: string): number[] {
  try {
    return readFileSync(join(abs, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // removed meanwhile
  }
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Builds the kubepods tree (QoS tiers as kubelet always creates them) and the given pods' cgroups under `root`. */
export function buildPodCgroups(root: string, layout: FakeLayout, pods: FakePod[]): FakePodCgroups {
  const madeRoot = !existsSync(root);
  if (madeRoot) mkdirSync(root);
  const top = layout.driver === 'systemd' ? '/kubepods.slice' : '/kubepods';
  const paths: string[] = [];
  const children: ChildProcess[] = [];
  const dir = (path: string) => join(root, path);
  const make = (path: string) => {
    mkdirSync(dir(path));
    paths.push(path);
  };

  /** Every cgroup directory we own, including any a test added below ours, deepest first. */
  const existingDeepestFirst = (): string[] => {
    const all = new Set<string>();
    const walk = (abs: string) => {
      if (all.has(abs) || !existsSync(abs)) return;
      all.add(abs);
      for (const e of readdirSync(abs, { withFileTypes: true })) if (e.isDirectory()) walk(join(abs, e.name));
    };
    // A root we did not make may hold other cgroups: then only what we made (and what grew below it) is ours.
    for (const abs of madeRoot ? [root] : paths.map(dir)) walk(abs);
    return [...all].sort((a, b) => b.split('/').length - a.split('/').length);
  };

  const remove = () => {
    for (const c of children) c.kill('SIGKILL');
    for (let attempt = 0; attempt < 50; attempt++) {
      const left = existingDeepestFirst();
      if (left.length === 0) return;
      for (const abs of left) {
        for (const pid of procsOf(abs)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // exited already
          }
        }
        try {
          rmdirSync(abs);
        } catch {
          // still has a dying process or a child: the next round retries
        }
      }
      pause(50);
    }
    throw new Error(`could not remove fake pod cgroups below ${root}: ${existingDeepestFirst().join(', ')}`);
  };

  const build = (pod: FakePod): FakePodPaths => {
    const path = podPath(layout, pod);
    make(path);
    const entry: FakePodPaths = { pod: `${pod.namespace}/${pod.name}`, uid: pod.uid, path, containers: {}, subgroups: {}, sandbox: null, conmon: [] };
    if (pod.sandboxId) {
      entry.sandbox = `${path}/${containerDir(layout, pod.sandboxId)}`;
      make(entry.sandbox);
    }
    for (const c of pod.containers) {
      if (c.id === null) continue;
      const hex = hexOf(c.id);
      const cpath = `${path}/${containerDir(layout, hex)}`;
      make(cpath);
      entry.containers[c.name] = cpath;
      if (layout.subgroup) {
        const sub = `${cpath}/${layout.subgroup}`;
        make(sub);
        entry.subgroups[c.name] = sub;
      }
      if (layout.runtime === 'crio') {
        const conmon = `${path}/crio-conmon-${hex}${layout.driver === 'systemd' ? '.scope' : ''}`;
        make(conmon);
        entry.conmon.push(conmon);
      }
    }
    return entry;
  };

  let built: FakePodPaths[];
  try {
    make(top);
    make(layout.driver === 'systemd' ? `${top}/kubepods-burstable.slice` : `${top}/burstable`);
    make(layout.driver === 'systemd' ? `${top}/kubepods-besteffort.slice` : `${top}/besteffort`);
    built = pods.map(build);
  } catch (err) {
    remove();
    throw err;
  }

  return {
    root,
    paths,
    pods: built,
    dir,
    moveProcess(path) {
      const child = spawn('sleep', ['3600'], { stdio: 'ignore' });
      children.push(child);
      child.on('error', () => {}); // reported below as a missing pid
      if (child.pid === undefined) throw new Error('could not start sleep');
      writeFileSync(join(dir(path), 'cgroup.procs'), String(child.pid));
      return child.pid;
    },
    remove,
  };
}
