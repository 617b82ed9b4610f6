import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Investigation } from '../../src/core/investigation.ts';
import type { SyscountResult } from '../../bpf/bpftrace/syscount/result.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { createTestCgroup, sleep, type TestCgroup } from '../helpers/kernel.ts';
import { describeSteps, expectStep } from '../helpers/steps.ts';
import { summaryProblems } from '../helpers/summary-lint.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

const WATCHER = fileURLToPath(new URL('../fixtures/inotify-watcher.mjs', import.meta.url));

const mountCount = (pid: number | string) => {
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};
const stepOf = (inv: Investigation, id: string) => inv.steps.find((s) => s.id === id);
const failing = (inv: Investigation) => (stepOf(inv, 'errors')?.result as SyscountResult).rows;

/**
 * The enospc playbook follows the failing syscall to its cause. Two incidents from the field, reproduced for real:
 * a mount namespace that reaches fs.mount-max, and a user that reaches its inotify watch limit.
 */
describe.skipIf(skipBpf)(bpfSuiteName('enospc playbook names the cause'), () => {
  let sys: TestSystem;
  let cg: TestCgroup | undefined;
  let dir: string;
  let proc: ChildProcess | undefined;

  beforeAll(async () => {
    assertBpf();
    sys = await startSystem();
  });
  afterEach(() => {
    proc?.kill('SIGKILL');
    cg?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('mount(2): a private mount namespace full of bind mounts under a lowered fs.mount-max', async () => {
    const original = readFileSync('/proc/sys/fs/mount-max', 'utf8').trim();
    // Low enough to reach in a second, high enough that no existing namespace is already over it.
    const biggest = Math.max(...readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(mountCount));
    const limit = biggest + 40;
    dir = mkdtempSync(join(tmpdir(), 'th-binds-'));
    cg = createTestCgroup('mounts');
    try {
      writeFileSync('/proc/sys/fs/mount-max', String(limit));
      proc = cg.spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `while :; do mount --bind "${dir}" "${dir}" 2>/dev/null; sleep 0.05; done`]);
      // Full when the count stops growing: mountinfo lists one mount fewer than the kernel counts against the limit.
      let full = 0;
      for (let i = 0, last = -1; i < 100; i++, await sleep(100)) {
        full = mountCount(proc.pid!);
        if (full === last && full >= limit - 2) break;
        last = full;
      }
      expect(full).toBeGreaterThanOrEqual(limit - 2);

      const res = await sys.post('/v1/investigations', { symptom: 'mount fails with No space left on device', target: { cgroup: cg.path }, params: { duration: '3s' } });
      expect(res.json.playbook).toBe('enospc');
      const inv = await sys.waitFor(res.json.id as string);

      expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
      expect(failing(inv)).toContainEqual(expect.objectContaining({ syscall: 'mount', errno: 'ENOSPC', comm: 'mount' }));
      const fmt = (n: number) => n.toLocaleString('en-US');
      // The namespace is named by one of the target's processes in it (the shell, or a mount(8) alive at that moment).
      expect(inv.summary?.headline).toMatch(new RegExp(`^mount\\(2\\) fails: mount namespace of pid \\d+ \\((sh|mount|unshare)\\) holds ${fmt(full)} mounts, limit fs\\.mount-max=${fmt(limit)}$`));
      const cause = inv.summary!.findings[0]!;
      expect(cause).toMatchObject({ severity: 'critical', title: expect.stringMatching(/^Mount namespace of pid \d+ \(\w+\) holds [\d,]+ mounts: \d+% of fs\.mount-max$/) });
      expect(cause.detail).toContain(`Mount points repeated most: ${dir} ×`);
      expect(cause.next?.commands[0]).toMatch(/^findmnt -N \d+ -o TARGET,SOURCE,FSTYPE$/);
      expect(cause.next?.remedy).toContain('MNT_DETACH');
      // The namespace's own row of the mounts result, the failing mount(2) rows, and mountsnoop's capture whole.
      expect(cause.confidence.level).toBe('medium');
      expect(cause.evidence).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ artifact: 'mounts/test-node/result.json', rows: [expect.stringMatching(/^\/namespaces\/\d+$/)] }),
          expect.objectContaining({ artifact: 'errors/test-node/result.json', rows: expect.arrayContaining([expect.stringMatching(/^\/rows\/\d+$/)]) }),
          { artifact: 'mount-calls/test-node/result.json' },
        ]),
      );
      expect(inv.summary!.findings.filter((f) => f.severity === 'warning')).toEqual([]);
      expect(summaryProblems(inv.summary!, inv.steps)).toEqual([]);
      expectStep(inv, 'mounts', { status: 'succeeded', tool: 'mount-namespaces' });
      // mountsnoop saw the bind mounts being refused.
      expectStep(inv, 'mount-calls', { status: 'succeeded', tool: 'mountsnoop' });
      expect(JSON.stringify(stepOf(inv, 'mount-calls')!.result)).toContain('MS_BIND');
      // The kernel's mount path is traced where the kernel has the function_graph tracer; where it has not, the step
      // says so instead of pretending, and what could not be looked at is a note, not a finding.
      if (readFileSync('/sys/kernel/tracing/available_tracers', 'utf8').split(/\s+/).includes('function_graph')) {
        expectStep(inv, 'mount-path', { status: 'succeeded', tool: 'funcgraph' });
        expect(inv.summary?.notes).toEqual([]);
      } else {
        expectStep(inv, 'mount-path', { status: 'skipped', skip: 'unsupported', reason: expect.stringContaining('function_graph') });
        expect(inv.summary?.notes).toEqual([expect.stringMatching(/^mount-path on test-node could not run: .*function_graph/)]);
      }
      // Steps for other causes did not run, and say why in words.
      expectStep(inv, 'watches', { status: 'skipped', skip: 'not-needed', reason: 'not needed: no inotify_add_watch(2) failed' });
      expect(JSON.stringify(inv.summary)).not.toMatch(/inotify|not needed|condition not met/);
    } finally {
      writeFileSync('/proc/sys/fs/mount-max', original);
    }
    expect(readFileSync('/proc/sys/fs/mount-max', 'utf8').trim()).toBe(original);
  });

  it('inotify_add_watch(2): a watcher over its user namespace limit of 10 watches', async () => {
    dir = mkdtempSync(join(tmpdir(), 'th-watch-'));
    cg = createTestCgroup('inotify');
    proc = cg.spawn('unshare', ['-U', '-r', 'sh', '-c', 'echo 10 > /proc/sys/user/max_inotify_watches && exec "$0" "$@"', process.execPath, WATCHER, dir]);
    await sleep(500);
    // The name the kernel has for the watcher: "node" up to Node 22, "MainThread" from Node 24 (it names its threads).
    const comm = readFileSync(`/proc/${proc.pid}/comm`, 'utf8').trim();

    const res = await sys.post('/v1/investigations', { playbook: 'enospc', target: { cgroup: cg.path }, params: { duration: '3s' } });
    const inv = await sys.waitFor(res.json.id as string);

    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    expect(failing(inv)).toContainEqual(expect.objectContaining({ syscall: 'inotify_add_watch', errno: 'ENOSPC', comm }));
    expect(inv.summary?.headline).toMatch(/^inotify_add_watch\(2\) fails: uid 0 in user namespace \d+ holds 10 inotify watches, limit max_user_watches=10$/);
    expectStep(inv, 'watches', { status: 'succeeded', tool: 'inotify-watches' });
    expectStep(inv, 'mounts', { status: 'skipped', skip: 'not-needed', reason: 'not needed: no mount(2) failed' });
    const cause = inv.summary!.findings[0]!;
    expect(cause).toMatchObject({ severity: 'critical', title: expect.stringMatching(/^uid 0 in user namespace \d+ holds 10 of 10 inotify watches$/) });
    expect(cause.detail).toContain(`Watches by process: ${comm} (pid ${proc.pid}): 10.`);
    expect(cause.next?.remedy).toContain('max_user_watches');
    expect(summaryProblems(inv.summary!, inv.steps)).toEqual([]);
  });

  it('mount(2): two namespaces at fs.mount-max, only one in the target; the other is a separate warning', async () => {
    const original = readFileSync('/proc/sys/fs/mount-max', 'utf8').trim();
    const biggest = Math.max(...readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(mountCount));
    const limit = biggest + 40;
    dir = mkdtempSync(join(tmpdir(), 'th-binds-'));
    const mine = join(dir, 'target-leak');
    const theirs = join(dir, 'other-leak');
    const bindLoop = (at: string) => ['-m', '--propagation', 'private', 'sh', '-c', `mkdir -p "${at}"; while :; do mount --bind "${at}" "${at}" 2>/dev/null; sleep 0.02; done`];
    cg = createTestCgroup('mounts-two');
    let other: ChildProcess | undefined;
    const fillUp = async (pid: number) => {
      let n = 0;
      for (let i = 0, last = -1; i < 150; i++, await sleep(100)) {
        n = mountCount(pid);
        if (n === last && n >= limit - 2) break;
        last = n;
      }
      return n;
    };
    try {
      writeFileSync('/proc/sys/fs/mount-max', String(limit));
      // Another team's leaking job: same node, its own namespace, outside the target cgroup. It fills up first.
      other = spawn('unshare', bindLoop(theirs), { stdio: 'ignore' });
      expect(await fillUp(other.pid!)).toBeGreaterThanOrEqual(limit - 2);
      proc = cg.spawn('unshare', bindLoop(mine));
      expect(await fillUp(proc.pid!)).toBeGreaterThanOrEqual(limit - 2);

      const res = await sys.post('/v1/investigations', { playbook: 'enospc', target: { cgroup: cg.path }, params: { duration: '3s' } });
      const inv = await sys.waitFor(res.json.id as string);
      expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');

      const namespaces = (stepOf(inv, 'mounts')!.result as { namespaces: { pid: number; focus: boolean; nearLimit: boolean }[] }).namespaces;
      const targetNs = namespaces.find((n) => n.focus && n.nearLimit)!;
      const otherNs = namespaces.find((n) => !n.focus && n.nearLimit)!;
      expect(targetNs).toBeDefined();
      expect(otherNs).toBeDefined();
      expect(inv.summary?.headline).toMatch(new RegExp(`^mount\\(2\\) fails: mount namespace of pid ${targetNs.pid} \\(\\w+\\) holds `));

      const [cause, ...rest] = inv.summary!.findings;
      expect(cause).toMatchObject({ severity: 'critical', title: expect.stringMatching(new RegExp(`^Mount namespace of pid ${targetNs.pid} `)) });
      expect(cause!.detail).toContain(`Mount points repeated most: ${mine} ×`);
      expect(cause!.detail).not.toContain(theirs);
      const warning = rest.find((f) => f.severity === 'warning')!;
      expect(warning.title).toMatch(new RegExp(`^Another mount namespace on this node is also at the limit: pid ${otherNs.pid} \\(\\w+\\), not in the target, holds [\\d,]+ mounts$`));
      expect(warning.detail).toContain(`Its mount points repeated most: ${theirs} ×`);
      expect(warning.detail).not.toContain(mine);
      // Only the target's namespace is critical: the cause, its refused mounts (this host has no kprobes, so they are
      // counted at mount(2)'s exit: the tracepoint variant), and the failing mount(2) calls.
      expectStep(inv, 'refusals', { status: 'succeeded', tool: 'mount-refusals', variant: 'tracepoint' });
      const targetMntns = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${proc.pid}/ns/mnt`))?.[1]);
      expect(inv.summary!.findings.filter((f) => f.severity === 'critical').map((f) => f.title)).toEqual([
        cause!.title,
        expect.stringMatching(new RegExp(`^mount\\(2\\) failed with ENOSPC [\\d,]+ times? in mount namespace ${targetMntns}$`)),
        expect.stringMatching(/^mount\(2\) fails with ENOSPC/),
      ]);
      expect(summaryProblems(inv.summary!, inv.steps)).toEqual([]);
    } finally {
      other?.kill('SIGKILL');
      writeFileSync('/proc/sys/fs/mount-max', original);
    }
    expect(readFileSync('/proc/sys/fs/mount-max', 'utf8').trim()).toBe(original);
  });
});
