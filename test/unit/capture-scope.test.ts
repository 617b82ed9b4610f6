import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcReader, resolveTargets } from '../../bpf/procfs/procfs.ts';
import type { NativeRunContext } from '../../bpf/tool.ts';
import { CaptureScope, type PodRef } from '../../src/core/target.ts';
import { CaptureJob } from '../../src/queue/jobs.ts';
import { kernelScopeOf } from '../../workers/node-agent/kernel-scope.ts';
import { captureScopeOf } from '../../workers/orchestrator/capture-scope.ts';

/**
 * A capture covers exactly the set its target resolved to: the pods' cgroups when there are pods, never a union
 * with a cgroup the authorization did not look at; a pid only narrows.
 */
const UID = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const HEX = 'a'.repeat(64);
const cart: PodRef = {
  namespace: 'shop',
  name: 'cart-1',
  uid: UID,
  qosClass: 'Burstable',
  containers: [{ name: 'cart', id: `containerd://${HEX}` }],
};

describe('CaptureScope', () => {
  it('cannot express pods and a cgroup together, nor an empty pod list', () => {
    const union = CaptureScope.safeParse({ pods: [cart], cgroup: '/victim' });
    expect(union.success).toBe(false);
    expect(union.error?.issues.map((i) => i.path.join('.'))).toEqual(['cgroup']);
    expect(CaptureScope.safeParse({ pods: [] }).success).toBe(false);
    expect(CaptureScope.safeParse({ pods: [cart], pid: 42 }).success).toBe(true);
    expect(CaptureScope.safeParse({ cgroup: '/my-app', pid: 42 }).success).toBe(true);
  });

  it('is checked again where the agent reads its job: a union never reaches the kernel', () => {
    const job = { investigationId: 'inv_01jd3zq8k2m4n6p8r0s2t4v6w8', stepId: 'profile', node: 'node-a', tool: 'profile', params: {}, durationMs: 1000 };
    expect(CaptureJob.safeParse({ ...job, scope: { pods: [cart] } }).success).toBe(true);
    expect(CaptureJob.safeParse({ ...job, scope: { pods: [cart], cgroup: '/victim' } }).success).toBe(false);
  });
});

describe("the orchestrator's scope for one node", () => {
  it.each<[string, Parameters<typeof captureScopeOf>[0], PodRef[], CaptureScope]>([
    ['a pod: its pods only', { pod: 'shop/cart-1' }, [cart], { pods: [cart] }],
    ['a pod and a pid: the pid narrows', { pod: 'shop/cart-1', pid: 42 }, [cart], { pods: [cart], pid: 42 }],
    // Refused at intake since; a record from before must still not widen the capture.
    ['a pod and a cgroup (an old record): the cgroup is dropped', { pod: 'shop/cart-1', cgroup: '/victim' }, [cart], { pods: [cart] }],
    ['a selector and a cgroup (an old record)', { namespace: 'shop', labelSelector: 'app=cart', cgroup: '/victim', pid: 7 }, [cart], { pods: [cart], pid: 7 }],
    ['a cgroup', { cgroup: '/my-app' }, [], { cgroup: '/my-app' }],
    ['a cgroup and a pid', { cgroup: '/my-app', pid: 42 }, [], { cgroup: '/my-app', pid: 42 }],
    ['a node', { node: 'node-a' }, [], {}],
  ])('%s', (_what, target, pods, expected) => {
    const scope = captureScopeOf(target, 'node-a', pods);
    expect(scope).toEqual(expected);
    expect(CaptureScope.safeParse(scope).success).toBe(true);
  });

  it('refuses to turn a pod target with no pods on the node into a node-wide capture', () => {
    expect(() => captureScopeOf({ pod: 'shop/cart-1' }, 'node-a', [])).toThrow(/refusing a node-wide capture/);
  });
});

describe("the agent's kernel scope", () => {
  // A kubelet cgroupfs tree (containerd: kubepods/burstable/pod<uid>/<id>) and a victim beside it, in plain
  // directories: the agent reads ids as directory inodes, which any directory has.
  let root: string;
  const ino = (rel: string) => statSync(join(root, rel)).ino;
  const container = `/kubepods/burstable/pod${UID}/${HEX}`;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'th-scope-'));
    mkdirSync(join(root, container), { recursive: true });
    mkdirSync(join(root, 'victim'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("filters a pods job on the pods' cgroup ids only, even when the job also names a cgroup", () => {
    // Typed as a CaptureScope but never parsed: what the agent would do with a union if one slipped through.
    const union = { pods: [cart], cgroup: '/victim' } as CaptureScope;
    const { scope, podNames } = kernelScopeOf(union, 'node-a', root);
    expect(scope).toEqual({ cgroupIds: [ino(container)], pid: 0 });
    expect(scope.cgroupIds).not.toContain(ino('/victim'));
    expect(podNames?.nameOf(ino(container))).toEqual({ pod: 'shop/cart-1', container: 'cart' });
  });

  it('keeps the pid as a narrowing filter beside the pods, and a cgroup scope as the cgroup', () => {
    expect(kernelScopeOf({ pods: [cart], pid: process.pid }, 'node-a', root).scope).toEqual({ cgroupIds: [ino(container)], pid: process.pid });
    expect(kernelScopeOf({ cgroup: '/victim' }, 'node-a', root).scope).toEqual({ cgroupIds: [ino('/victim')], pid: 0 });
  });
});

describe("collectors' focus processes", () => {
  // A cgroup holding this test's process; pid 1 lives outside it.
  let root: string;
  let id: number;
  const ctx = (scope: { cgroupIds: number[]; pid: number }) =>
    ({ scope, cgroupRoot: root, cgroupPathOf: (i: number) => (i === id ? '/app' : null), procRoot: '/proc' }) as unknown as NativeRunContext;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'th-focus-'));
    mkdirSync(join(root, 'app'));
    writeFileSync(join(root, 'app', 'cgroup.procs'), `${process.pid}\n${process.ppid}\n`);
    id = statSync(join(root, 'app')).ino;
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('narrow the cgroups to the pid, as the kernel filters do, and never add a pid outside them', () => {
    const reader = new ProcReader('/proc');
    expect(resolveTargets(reader, undefined, ctx({ cgroupIds: [id], pid: 0 })).requested).toEqual([process.pid, process.ppid].sort((a, b) => a - b));
    expect(resolveTargets(reader, undefined, ctx({ cgroupIds: [id], pid: process.pid })).requested).toEqual([process.pid]);
    expect(resolveTargets(reader, undefined, ctx({ cgroupIds: [id], pid: 1 })).requested).toEqual([]);
    expect(resolveTargets(reader, undefined, ctx({ cgroupIds: [], pid: 1 })).requested).toEqual([1]);
  });
});
