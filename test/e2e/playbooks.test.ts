import { type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { createTestCgroup, type TestCgroup } from '../helpers/kernel.ts';
import { describeSteps, expectStep } from '../helpers/steps.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/** Each built-in playbook runs for real on this kernel against a workload that makes its point. */
describe.skipIf(skipBpf)(bpfSuiteName('built-in playbooks on this kernel'), () => {
  let sys: TestSystem;
  let cg: TestCgroup | undefined;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    assertBpf();
    sys = await startSystem();
  });
  afterEach(() => {
    for (const p of procs.splice(0)) p.kill('SIGKILL');
    cg?.remove();
    cg = undefined;
  });
  afterAll(async () => {
    await sys?.stop();
  });

  const run = async (body: unknown) => {
    const res = await sys.post('/v1/investigations', body);
    expect(res.status).toBe(202);
    return sys.waitFor(res.json.id as string, undefined, 90_000);
  };

  it('exec-storm names the program and its parent', async () => {
    cg = createTestCgroup('execs');
    procs.push(cg.spawn('sh', ['-c', 'while :; do /bin/true; done']));
    const inv = await run({ symptom: 'exec storm on this box', target: { cgroup: cg.path }, params: { duration: '2s' } });
    expect(inv.playbook).toBe('exec-storm');
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    expect(inv.summary?.headline).toMatch(/^Exec storm: [\d,.]+ executions\/s, mostly \/bin\/true started by sh \(pid \d+\)$/);
  });

  it('runqlat finds the cgroup whose tasks wait for a CPU', async () => {
    cg = createTestCgroup('runq');
    // Three busy loops on two CPUs: someone is always waiting.
    for (let i = 0; i < 3; i++) procs.push(cg.spawn('sh', ['-c', 'while :; do :; done']));
    const inv = await run({ playbook: 'runqlat', target: { cgroup: cg.path }, params: { duration: '2s', thresholdMs: 1 } });
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    expect(inv.summary?.headline).toMatch(new RegExp(`^Run-queue latency p99 of [\\d.]+ ms in ${cg.path}: runnable tasks wait for a CPU$`));
    expect(inv.summary?.findings[0]).toMatchObject({ severity: 'warning', title: expect.stringContaining(cg.path) });
  });

  it('io-latency measures direct writes to the root disk', async () => {
    cg = createTestCgroup('io');
    const file = `/var/tmp/th-io-${process.pid}`;
    // Keeps writing for the whole capture: direct I/O goes to the device from this cgroup, not from writeback.
    procs.push(cg.spawn('sh', ['-c', `while :; do dd if=/dev/zero of=${file} bs=1M count=8 oflag=direct 2>/dev/null; done`]));
    try {
      const inv = await run({ playbook: 'io-latency', target: { cgroup: cg.path }, params: { duration: '2s' } });
      expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
      const rows = (inv.steps[0]!.result as { rows: { op: string; count: number }[] }).rows;
      expect(rows.some((r) => r.op === 'write' && r.count > 0)).toBe(true);
      expect(inv.summary?.headline).toMatch(/^(Slow block I\/O: write|Block I\/O within 50 ms at p99 over [\d,]+ requests)/);
    } finally {
      cg.remove(); // stop the writer before removing its file
      cg = undefined;
      rmSync(file, { force: true });
    }
  });

  it('tcp-retrans and oomkill run and report a quiet node plainly', async () => {
    const tcp = await run({ playbook: 'tcp-retrans', target: { node: 'test-node' }, params: { duration: '1s' } });
    expect(tcp.status, describeSteps(tcp.steps)).toBe('succeeded');
    expect(tcp.summary?.headline).toMatch(/TCP retransmits/);
    const oom = await run({ playbook: 'oomkill', target: { node: 'test-node' }, params: { duration: '1s' } });
    expect(oom.status, describeSteps(oom.steps)).toBe('succeeded');
    expect(oom.summary?.headline).toMatch(/OOM kill/);
  });

  it('health-sweep runs every tool and ends with its figures', async () => {
    const inv = await run({ playbook: 'health-sweep', target: { node: 'test-node' }, params: { duration: '1s' } });
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    expect(inv.steps.map((s) => s.id)).toEqual(['errors', 'runq', 'io', 'retrans', 'kills']);
    for (const id of ['errors', 'runq', 'io', 'retrans', 'kills']) expectStep(inv, id, { status: 'succeeded' });
    const figures = inv.summary?.findings.find((f) => f.title === 'Figures');
    expect(figures?.detail).toMatch(/^failing syscalls: [\d,]+; run-queue p99: .*; block I\/O requests: [\d,]+; TCP retransmits: \d+; OOM kills: \d+$/);
  });
});
