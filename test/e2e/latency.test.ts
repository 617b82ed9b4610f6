import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OffCpuResult } from '../../bpf/bpftrace/offcputime/result.ts';
import type { ProfileResult } from '../../bpf/bpftrace/profile/result.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { compileBurner, createTestCgroup, type TestCgroup } from '../helpers/kernel.ts';
import { describeSteps } from '../helpers/steps.ts';
import { summaryProblems } from '../helpers/summary-lint.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/** test/fixtures/sleeper.c: blocks in known functions (doze_between_requests → nanosleep, wait_for_upstream → read). */
function compileSleeper(): { exe: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'th-sleeper-'));
  const exe = join(dir, 'th-sleeper');
  execFileSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-o', exe, fileURLToPath(new URL('../fixtures/sleeper.c', import.meta.url))]);
  return { exe, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The latency playbook on real processes in a test cgroup: one that sleeps between short bursts of work (off-CPU
 * dominates, and the summary names where it sleeps), and a CPU burner (on-CPU dominates, and it names the hot
 * function). Both captures run at once over the same window, filtered in the kernel to the cgroup.
 */
describe.skipIf(skipBpf)(bpfSuiteName('latency investigation: on-CPU against off-CPU time'), () => {
  let sys: TestSystem;
  let cg: TestCgroup | undefined;
  let proc: ChildProcess | undefined;
  let sleeper: { exe: string; remove(): void } | undefined;
  let burner: { exe: string; remove(): void } | undefined;

  beforeAll(async () => {
    assertBpf();
    sleeper = compileSleeper();
    burner = compileBurner();
    sys = await startSystem();
  });
  afterEach(() => {
    proc?.kill('SIGKILL');
    cg?.remove();
    cg = undefined;
  });
  afterAll(async () => {
    sleeper?.remove();
    burner?.remove();
    await sys?.stop();
  });

  const investigate = async (path: string): Promise<Investigation> => {
    const res = await sys.post('/v1/investigations', { symptom: 'requests to the api hang for seconds', target: { cgroup: path }, params: { duration: '3s' } });
    expect(res.status).toBe(202);
    expect(res.json.playbook).toBe('latency');
    const inv = await sys.waitFor(res.json.id as string, undefined, 120_000);
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    expect(inv.steps.map((s) => [s.id, s.tool, s.status])).toEqual([
      ['cpu', 'profile', 'succeeded'],
      ['offcpu', 'offcputime', 'succeeded'],
    ]);
    // Run together: each started before the other finished.
    const [a, b] = inv.steps.map((s) => [Date.parse(s.startedAt!), Date.parse(s.finishedAt!)] as const);
    expect(a![0]).toBeLessThan(b![1]);
    expect(b![0]).toBeLessThan(a![1]);
    expect(summaryProblems(inv.summary!, inv.steps)).toEqual([]);
    return inv;
  };

  it('a process sleeping between requests: off-CPU dominates, in doze_between_requests → nanosleep', async () => {
    cg = createTestCgroup('latency-sleep');
    proc = cg.spawn(sleeper!.exe, []);
    const inv = await investigate(cg.path);
    const off = inv.steps.find((s) => s.id === 'offcpu')!.result as OffCpuResult;
    const on = inv.steps.find((s) => s.id === 'cpu')!.result as ProfileResult;
    // 20 ms naps over ~3 s: most of the window asleep, every block of it by this one process.
    expect(off.processes).toEqual([{ pid: proc.pid, comm: 'th-sleeper', blockedUs: expect.any(Number), blocks: expect.any(Number) }]);
    expect(off.blockedUs).toBeGreaterThan(off.windowMs * 1000 * 0.5);
    const top = off.topStacks[0]!;
    expect(top).toMatchObject({ pid: proc.pid, syscall: 'nanosleep', blockedIn: 'do_nanosleep' });
    expect(top.userFrames.slice(0, 2)).toEqual(['doze_between_requests', 'main']);
    expect(top.frames).toEqual(expect.arrayContaining(['main', 'doze_between_requests', '__x64_sys_nanosleep_[k]', 'do_nanosleep_[k]']));
    expect(top.maxUs).toBeGreaterThanOrEqual(20_000);
    expect(on.samples / on.hz).toBeLessThan(off.blockedUs / 1e6 / 2);

    const summary = inv.summary!;
    expect(summary.headline).toMatch(
      new RegExp(`^Off-CPU dominates: blocked [\\d.]+ s vs [\\d.]+ (ms|µs|s) on CPU in [\\d.]+ s, most in nanosleep\\(2\\) in do_nanosleep ← doze_between_requests ← main .*\\(th-sleeper \\(pid ${proc.pid}\\), `),
    );
    expect(summary.findings[0]).toMatchObject({ severity: 'warning', title: expect.stringMatching(/^Off-CPU time dominates: blocked [\d.]+ s against /) });
    const stacks = summary.findings.find((f) => f.title.startsWith('Top '))!;
    expect(stacks.detail).toMatch(/^1\. th-sleeper \(pid \d+\): nanosleep\(2\) in do_nanosleep ← doze_between_requests ← main/);

    // Both flame graphs are stored side by side: samples on CPU, time off CPU.
    const names = inv.artifacts.map((a) => a.name);
    expect(names).toEqual(expect.arrayContaining(['cpu/test-node/flamegraph.svg', 'offcpu/test-node/offcpu-flamegraph.svg', 'offcpu/test-node/offcpu.folded']));
    const svg = await sys.get(`/v1/investigations/${inv.id}/artifacts/offcpu/test-node/offcpu-flamegraph.svg`);
    expect(svg.contentType).toBe('image/svg+xml');
    expect(svg.text).toContain('Off-CPU time');
    expect(svg.text).toMatch(/<title>doze_between_requests \([\d.]+ (s|ms), [\d.]+%\)<\/title>/);
    const folded = await sys.get(`/v1/investigations/${inv.id}/artifacts/offcpu/test-node/offcpu.folded`);
    expect(folded.text).toMatch(/^th-sleeper;.*;main;doze_between_requests;.*do_nanosleep_\[k\].* \d+$/m);
    // The API draws the off-CPU graph's thumbnail too.
    const png = await fetch(`${sys.url}/v1/investigations/${inv.id}/artifacts/offcpu/test-node/offcpu-flamegraph.png`, { headers: { authorization: `Bearer ${sys.tokens.admin}` } });
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
  });

  it('a CPU burner: on-CPU dominates, in crunch_alpha', async () => {
    cg = createTestCgroup('latency-burn');
    proc = cg.spawn(burner!.exe, []);
    const inv = await investigate(cg.path);
    const off = inv.steps.find((s) => s.id === 'offcpu')!.result as OffCpuResult;
    const on = inv.steps.find((s) => s.id === 'cpu')!.result as ProfileResult;
    // A burner never sleeps; preemption on a loaded host is run-queue time, not counted as blocked. On a busy host it
    // may get under a second of CPU in the window, which the headline gives in ms.
    expect(on.samples / on.hz).toBeGreaterThan(2 * (off.blockedUs / 1e6));
    expect(inv.summary!.headline).toMatch(/^On-CPU dominates: [\d.]+ (ms|s) on CPU vs [\d.]+ (µs|ms|s) blocked in [\d.]+ s, hottest function crunch_alpha \(\d+% of samples\)$/);
    expect(inv.summary!.findings[0]).toMatchObject({ severity: 'info', title: expect.stringMatching(/^On-CPU time dominates: /) });
    // The on-CPU findings come along: the top functions, crunch_alpha first.
    expect(inv.summary!.findings.find((f) => f.title.startsWith('Top ') && f.title.includes('on-CPU samples'))?.detail).toMatch(/^1\. crunch_alpha/);
  });
});
