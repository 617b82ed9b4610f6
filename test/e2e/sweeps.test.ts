import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, type Investigation } from '../../src/core/investigation.ts';
import type { SweepComparison } from '../../src/sweeps/compare.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { createTestCgroup, mountTmpfs, type TestCgroup } from '../helpers/kernel.ts';
import { describeSteps } from '../helpers/steps.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

describe.skipIf(skipBpf)(bpfSuiteName('scheduled health sweeps compare each run with the previous ones'), () => {
  let sys: TestSystem;
  let cg: TestCgroup;
  let fs: { dir: string; unmount(): void };
  let bin: string;
  const procs: ChildProcess[] = [];

  const runs = async () =>
    ((await sys.get('/v1/investigations?limit=200')).json.items as Investigation[]).filter((i) => i.schedule === 'cg-sweep').reverse();
  const waitForRun = async (ok: (i: Investigation) => boolean, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await runs()).find(ok);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching run within ${timeoutMs} ms: ${JSON.stringify((await runs()).map((r) => [r.id, r.status, r.createdAt]))}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  beforeAll(async () => {
    assertBpf();
    sys = await startSystem({ env: { SCHEDULE_MIN_INTERVAL: '1s' } });
    cg = createTestCgroup('sweep');
    fs = mountTmpfs(512);
    spawnSync('dd', ['if=/dev/zero', `of=${fs.dir}/ballast`, 'bs=64k'], { stdio: 'ignore' });
    bin = mkdtempSync(join(tmpdir(), 'th-bin-'));
    copyFileSync('/usr/bin/dd', join(bin, 'th-appender'));
    chmodSync(join(bin, 'th-appender'), 0o755);
    // Something in the cgroup from the start, quiet for now.
    procs.push(cg.spawn('sleep', ['600']));
  });
  afterAll(async () => {
    await fetch(`${sys?.url}/v1/schedules/cg-sweep`, { method: 'DELETE', headers: { authorization: `Bearer ${sys?.tokens.admin}` } }).catch(() => undefined);
    for (const p of procs) p.kill('SIGKILL');
    cg?.remove();
    fs?.unmount();
    if (bin) rmSync(bin, { recursive: true, force: true });
    await sys?.stop();
  });

  it('records a baseline first, then flags a new failing syscall in a later sweep', async () => {
    const created = await sys.post('/v1/schedules', { name: 'cg-sweep', every: '12s', playbook: 'health-sweep', target: { cgroup: cg.path }, params: { duration: '1s' } });
    expect(created.status).toBe(201);

    // The schedule's very first run: it has no previous sweep to compare with, so it only records a baseline.
    const first = await waitForRun((i) => isTerminal(i.status));
    expect((await runs())[0]!.id).toBe(first.id);
    expect(first.status, describeSteps(first.steps)).toBe('succeeded');
    expect(first.requestedBy).toBe('schedule:cg-sweep');
    expect(first.summary!.findings.map((f) => f.title)).toContain('First sweep of this schedule: baseline recorded');

    // Now a process in the cgroup keeps failing write(2) with ENOSPC on a full tmpfs.
    procs.push(cg.spawn('sh', ['-c', `while :; do "${join(bin, 'th-appender')}" if=/dev/zero of="${fs.dir}/more" bs=4k count=1 oflag=append conv=notrunc 2>/dev/null; sleep 0.05; done`]));

    // The first sweep that saw the failures, whenever it was created: one created just before the loop started may
    // capture after it, and then the failures are no longer new to the sweep after it.
    const sawFailures = (i: Investigation) => i.summary?.findings.some((f) => /write\(2\) fails with ENOSPC/.test(f.title)) ?? false;
    const later = await waitForRun((i) => i.id !== first.id && i.status === 'succeeded' && sawFailures(i));
    expect(later.createdAt > first.createdAt).toBe(true);
    const flagged = later.summary!.findings.find((f) => f.severity === 'critical' && /write/.test(f.title) && /ENOSPC/.test(f.title) && /new/i.test(f.title));
    expect(flagged, JSON.stringify(later.summary, null, 2)).toBeDefined();
    expect(later.summary!.headline).toMatch(/change\(s\) since previous sweeps/);

    const comparison = (await sys.get(`/v1/investigations/${later.id}/artifacts/comparison.json`)).json as unknown as SweepComparison;
    expect(comparison.schedule).toBe('cg-sweep');
    expect(comparison.previous.map((p) => p.id)).toContain(first.id);
    expect(comparison.changes).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'syscall-new', subject: 'write ENOSPC', node: 'test-node' })]));
  });
});
