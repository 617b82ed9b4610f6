import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NativeRunContext } from '../../tool.ts';
import { cpuThrottling } from './manifest.ts';
import { readCpuThrottling } from './reader.ts';
import { CpuThrottlingRaw, CpuThrottlingResult } from './result.ts';

/**
 * The reader over a stand-in /proc and cgroup v2 tree (a pure v2 host with the cpu controller delegated, which this
 * machine does not have): discovery of each process's CPU cgroup and of quotas above it, and the node-wide walk. The
 * counters do not move in a stand-in, so these check what is read, not the deltas (summarize.test.ts, over real
 * recordings, does).
 */
const root = mkdtempSync(join(tmpdir(), 'th-cputhrottle-'));
const proc = join(root, 'proc');
const cg = join(root, 'cgroup');
afterAll(() => rmSync(root, { recursive: true, force: true }));

function file(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}
function cgroup(path: string, max: string | null, procs: number[], usage: number): void {
  mkdirSync(join(cg, path), { recursive: true });
  if (max !== null) file(join(cg, path, 'cpu.max'), `${max}\n`);
  file(join(cg, path, 'cpu.stat'), `usage_usec ${usage}\nuser_usec 0\nsystem_usec 0\nnr_periods 10\nnr_throttled 4\nthrottled_usec 2000\n`);
  file(join(cg, path, 'cgroup.procs'), procs.map((p) => `${p}\n`).join(''));
}
function processIn(pid: number, comm: string, v2: string, ticks: number): void {
  file(join(proc, String(pid), 'comm'), `${comm}\n`);
  file(join(proc, String(pid), 'stat'), `${pid} (${comm}) R 1 ${pid} ${pid} 0 -1 4194304 0 0 0 0 ${ticks} 0 0 0 20 0 1 0`);
  file(join(proc, String(pid), 'cgroup'), `0::${v2}\n`);
}

file(join(proc, 'self', 'mountinfo'), `40 22 0:37 / ${cg} rw,relatime - cgroup2 cgroup2 rw\n`);
file(join(cg, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
cgroup('/kubepods', 'max 100000', [], 0);
cgroup('/kubepods/pod-a', '50000 100000', [], 0);
cgroup('/kubepods/pod-a/app', 'max 100000', [100], 123);
cgroup('/kubepods/pod-b', 'max 100000', [], 0);
cgroup('/kubepods/pod-b/web', '200000 100000', [200], 7);
processIn(100, 'app', '/kubepods/pod-a/app', 50);
processIn(200, 'web', '/kubepods/pod-b/web', 9);

const ids: Record<number, string> = { 1: '/kubepods/pod-a/app', 2: '/kubepods/pod-b/web' };
function ctx(cgroupIds: number[]): NativeRunContext {
  return {
    arch: process.arch,
    cgroupPathOf: (id) => ids[id] ?? null,
    scope: { cgroupIds, pid: 0 },
    durationMs: 20,
    signal: new AbortController().signal,
    tracefs: null,
    procRoot: proc,
    cgroupRoot: cg,
  };
}

describe('cpu-throttling reader', () => {
  it("reads the target's own CPU cgroup and the quota above it (a pod's), not the ancestors without one", async () => {
    const run = await readCpuThrottling({}, ctx([1]));
    expect(CpuThrottlingResult.parse(run.result)).toEqual(run.result);
    const raw = CpuThrottlingRaw.parse(JSON.parse(run.raw));
    expect(raw.cgroups.map((c) => [c.hierarchy, c.path, c.leaf, c.quota, c.pids, c.targetCgroups])).toEqual([
      ['v2', '/kubepods/pod-a/app', true, 'max 100000', [100], ['/kubepods/pod-a/app']],
      ['v2', '/kubepods/pod-a', false, '50000 100000', [100], ['/kubepods/pod-a/app']],
    ]);
    expect(raw.cgroups[0]!.before).toEqual({ cpuStat: expect.stringContaining('nr_throttled 4'), usageUs: 123 });
    expect(raw.processes).toEqual([{ pid: 100, comm: 'app', ticksBefore: 50, ticksAfter: 50 }]);
    expect(raw.windowUs).toBeGreaterThanOrEqual(20_000);
    expect(run.result.cgroups.find((c) => c.path === '/kubepods/pod-a')?.quota).toEqual({ cpus: 0.5, quotaUs: 50_000, periodUs: 100_000 });
    expect(run.result).toMatchObject({ withQuota: 1, note: null, fallback: null });
  });

  it('without a target process, walks the hierarchy for every cgroup with a quota and says why', async () => {
    const run = await readCpuThrottling({}, ctx([]));
    expect(run.result.cgroups.map((c) => c.path).sort()).toEqual(['/kubepods/pod-a', '/kubepods/pod-b/web']);
    expect(run.result.cgroups.find((c) => c.path === '/kubepods/pod-b/web')?.targetCgroups).toEqual(['/kubepods/pod-b/web']);
    expect(run.result.fallback).toBe('no focus process was given: listing every cgroup with a CPU quota on the node');
    expect(JSON.parse(run.raw)).toMatchObject({ walked: 6 });
  });

  it('stops at once when the capture is cancelled', async () => {
    const ac = new AbortController();
    const running = readCpuThrottling({}, { ...ctx([1]), durationMs: 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(running).rejects.toThrow(/abort/i);
  });

  it('is what the manifest runs, and takes only focus pids', () => {
    expect(cpuThrottling.run).toBe(readCpuThrottling);
    expect(cpuThrottling.params.safeParse({ pids: [1, 2] }).success).toBe(true);
    expect(cpuThrottling.params.safeParse({ cgroup: '/x' }).success).toBe(false);
  });
});
