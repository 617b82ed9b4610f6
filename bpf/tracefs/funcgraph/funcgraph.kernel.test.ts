import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NativeRunContext } from '../../tool.ts';
import { CGROUP_ROOT, createTestCgroup, sleep, type TestCgroup } from '../../../test/helpers/kernel.ts';
import { kernelSuite } from '../../../test/helpers/kernel-features.ts';
import { funcgraph } from './manifest.ts';
import type { FuncgraphCall, FuncgraphResult } from './result.ts';
import { DEFAULT_LOCK_PATH, recoverAbandonedFtraceLock, writeTracefsFile } from './tracefs.ts';

/**
 * funcgraph for real, on a kernel that has function_graph (the matrix's stock kernels; not the development host):
 * the mount path down to count_mounts while a namespace hits fs.mount-max, an empty capture that says why, and
 * tracefs put back after every capture — one killed mid-way included.
 */
const TRACEFS = '/sys/kernel/tracing';
const KILLABLE = fileURLToPath(new URL('../../../test/fixtures/funcgraph-capture.ts', import.meta.url));
const CHAIN = ['do_new_mount', 'do_loopback', 'do_add_mount', 'lock_mount', 'graft_tree', 'attach_recursive_mnt', 'count_mounts'];

/** What the suite may change in tracefs, as raw text: it must be as it was after each capture. */
function snapshot(): Record<string, string> {
  const files = ['current_tracer', 'tracing_on', 'set_ftrace_filter', 'set_graph_function', 'set_ftrace_pid', 'max_graph_depth', 'tracing_thresh'];
  const out: Record<string, string> = {};
  for (const f of files) out[f] = readFileSync(join(TRACEFS, f), 'utf8');
  for (const o of readdirSync(join(TRACEFS, 'options'))) out[`options/${o}`] = readFileSync(join(TRACEFS, 'options', o), 'utf8');
  return out;
}

const mountCount = (pid: string) => {
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

/** The names along one path from the root to `leaf`, or null. */
function pathTo(call: FuncgraphCall, leaf: string): string[] | null {
  if (call.name === leaf) return [call.name];
  for (const c of call.children) {
    const p = pathTo(c, leaf);
    if (p) return [call.name, ...p];
  }
  return null;
}

const s = kernelSuite('funcgraph on a stock kernel', ['function_graph']);

describe.skipIf(s.skip)(s.name, () => {
  let before: Record<string, string>;
  let mountMax: string;
  let cg: TestCgroup | undefined;
  let dir: string;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    s.assert();
    // The first tracer set allocates the trace buffer for good: done here, so the snapshot compares what captures change.
    await writeTracefsFile(TRACEFS, 'current_tracer', 'nop');
    before = snapshot();
    mountMax = readFileSync('/proc/sys/fs/mount-max', 'utf8').trim();
    dir = mkdtempSync(join(tmpdir(), 'th-fg-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) p.kill('SIGKILL');
    await sleep(200);
    cg?.remove();
    cg = undefined;
    writeFileSync('/proc/sys/fs/mount-max', mountMax);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (before) expect(snapshot()).toEqual(before);
  });

  const ctx = (over: Partial<NativeRunContext>): NativeRunContext => ({
    arch: process.arch,
    cgroupPathOf: (id) => (cg && id === cg.id ? cg.path : null),
    scope: { cgroupIds: [], pid: 0 },
    durationMs: 3_000,
    signal: new AbortController().signal,
    tracefs: TRACEFS,
    procRoot: '/proc',
    cgroupRoot: CGROUP_ROOT,
    ...over,
  });

  it('graphs path_mount down to count_mounts for bind mounts and new mounts, while fs.mount-max refuses them', async () => {
    const biggest = Math.max(...readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(mountCount));
    writeFileSync('/proc/sys/fs/mount-max', String(biggest + 20));
    cg = createTestCgroup('funcgraph');
    // A leaking namespace: a bind mount and a new tmpfs mount in each round, refused once the limit is reached.
    const leak = `mkdir -p "${dir}/b"; while :; do mount --bind "${dir}/b" "${dir}/b" 2>/dev/null; mount -t tmpfs none "${dir}/b" 2>/dev/null; sleep 0.2; done`;
    procs.push(cg.spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', leak]));
    await sleep(1_000);

    const { result: r } = await funcgraph.run(
      funcgraph.params.parse({ function: 'path_mount', depth: 6, functions: CHAIN }),
      ctx({ scope: { cgroupIds: [cg.id], pid: 0 }, durationMs: 4_000 }),
    );
    const result = r as FuncgraphResult;
    expect(funcgraph.result.parse(result)).toEqual(result);
    expect(result.totalCalls, JSON.stringify(result).slice(0, 2000)).toBeGreaterThan(2);
    expect(result.lostEvents).toBe(0);
    expect(result.emptyBecause).toBeUndefined();
    // What this kernel can trace of the chain is shown; what it inlined is named, not silently missing.
    expect([...result.shown!.slice(1), ...result.notTraceable!].sort()).toEqual([...CHAIN].sort());
    expect(result.shown).toEqual(expect.arrayContaining(['path_mount', 'graft_tree', 'attach_recursive_mnt', 'count_mounts']));
    // Only the leaker's threads (the shell, and the mount processes it forks) were traced.
    expect(result.scopeThreads).toBeGreaterThanOrEqual(1);
    expect(result.calls.every((c) => c.comm === 'mount')).toBe(true);
    const paths = result.calls.map((c) => pathTo(c, 'count_mounts')).filter((p): p is string[] => p !== null);
    expect(paths.length).toBeGreaterThan(0);
    // A bind mount: path_mount → [do_loopback →] graft_tree → attach_recursive_mnt → count_mounts.
    expect(paths.map((p) => p.filter((n) => n !== 'do_loopback' && n !== 'lock_mount').join(' → '))).toContain('path_mount → graft_tree → attach_recursive_mnt → count_mounts');
    // A new mount: path_mount → [do_new_mount →] do_add_mount → graft_tree → attach_recursive_mnt → count_mounts.
    expect(paths.map((p) => p.filter((n) => n !== 'do_new_mount').join(' → '))).toContain('path_mount → do_add_mount → graft_tree → attach_recursive_mnt → count_mounts');
    for (const c of result.calls) expect(c.durationUs).toBeGreaterThan(0);
    expect(snapshot()).toEqual(before);
  });

  it('says why a capture saw no call, rather than passing for one that did', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    procs.push(sleeper);
    const { result: r } = await funcgraph.run(funcgraph.params.parse({ function: 'path_mount' }), ctx({ scope: { cgroupIds: [], pid: sleeper.pid! }, durationMs: 1_500 }));
    const result = r as FuncgraphResult;
    expect(result.totalCalls).toBe(0);
    expect(result.scopeThreads).toBe(1);
    expect(result.emptyBecause).toBe(
      'only the 1 thread the target had when the capture started, and what they forked, were traced (set_ftrace_pid): a process started otherwise is not seen; or no path_mount call was made by them in the 1.5 s window',
    );
    expect(snapshot()).toEqual(before);
  });

  it('puts tracefs back after a capture whose process is killed mid-way, as the restarted agent does', async () => {
    // One process (tsx as a loader, not its wrapper): the one that holds the lock is the one killed.
    const capture = spawn(process.execPath, ['--import', 'tsx', KILLABLE, 'vfs_read', '60000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(capture);
    for (let i = 0; i < 600 && readFileSync(join(TRACEFS, 'current_tracer'), 'utf8').trim() !== 'function_graph'; i++) await sleep(100);
    expect(readFileSync(join(TRACEFS, 'current_tracer'), 'utf8').trim()).toBe('function_graph');
    capture.kill('SIGKILL');
    await new Promise((r) => capture.once('exit', r));
    // Left as the killed capture had it: the tracer on, its filter set, the lock held by a dead pid.
    expect(snapshot()).not.toEqual(before);
    expect(readFileSync(DEFAULT_LOCK_PATH, 'utf8')).toContain(String(capture.pid));

    // What a restarted agent does first (workers/node-agent/ftrace-recovery.ts).
    expect(await recoverAbandonedFtraceLock()).toMatchObject({ status: 'recovered', pid: capture.pid });
    expect(snapshot()).toEqual(before);
  });
});
