import { spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashAgent, killAgent, startAgentProcess } from '../helpers/agent-process.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { bpftracePids, createTestCgroup, processRunning, sleep, type TestCgroup } from '../helpers/kernel.ts';
import { processGroup, timeUntilGone } from '../helpers/process-group.ts';
import { describeSteps, expectStep } from '../helpers/steps.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

const ms = (a?: string, b?: string) => Date.parse(b!) - Date.parse(a!);

describe.skipIf(skipBpf)(bpfSuiteName('captures are time-boxed and cancellable'), () => {
  let sys: TestSystem;
  let cg: TestCgroup;
  let busy: ChildProcess | undefined;

  beforeAll(async () => {
    assertBpf();
    sys = await startSystem();
    cg = createTestCgroup('timebox');
    busy = cg.spawn('sh', ['-c', 'while :; do :; done']);
  });

  afterAll(async () => {
    busy?.kill('SIGKILL');
    cg?.remove();
    await sys?.stop();
  });

  it('a 3 s capture ends within 3 s plus a small margin', async () => {
    const res = await sys.post('/v1/investigations', { playbook: 'cpu-profile', target: { cgroup: cg.path }, params: { duration: '3s' } });
    const inv = await sys.waitFor(res.json.id as string);
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    const step = inv.steps[0]!;
    const took = ms(step.startedAt, step.finishedAt);
    // The window opens when bpftrace has attached: loading before it takes what the host's load makes it (a second
    // on a busy CI machine), so the time box is judged from the attach to the exit, which the step's cost records.
    const window = step.cost?.bpfWindowMs;
    expect(window, 'a bpftrace capture records its window').toBeDefined();
    expect(window!).toBeGreaterThanOrEqual(2900);
    expect(window!).toBeLessThan(3000 + 250);
    // And bpftrace is gone soon after the window closes: printing a profile's maps and exiting.
    expect(step.cost!.phases!.stop.ms).toBeLessThan(750);
    expect(took).toBeGreaterThan(window!);
    expect(bpftracePids()).toEqual([]);
  });

  it('cancel stops a 60 s capture within a second and leaves no bpftrace behind', async () => {
    const res = await sys.post('/v1/investigations', { playbook: 'enospc', target: { cgroup: cg.path }, params: { duration: '60s' } });
    const id = res.json.id as string;
    await sys.waitFor(id, (inv) => inv.steps[0]?.status === 'running');
    for (let i = 0; i < 100 && !processRunning('bpf/bpftrace/syscount/program.bt'); i++) await sleep(50);
    expect(processRunning('bpf/bpftrace/syscount/program.bt')).toBe(true);
    await sleep(1000); // attached and counting

    const cancelledAt = new Date().toISOString();
    const cancel = await sys.post(`/v1/investigations/${id}/cancel`, {});
    expect(cancel.status).toBe(202);
    const inv = await sys.waitFor(id, undefined, 10_000);
    expect(inv.status, describeSteps(inv.steps)).toBe('cancelled');
    const step = expectStep(inv, 'errors', { status: 'cancelled', reason: expect.stringMatching(/cancel/) });
    expect(ms(cancelledAt, step.finishedAt)).toBeLessThan(1000);
    expect(bpftracePids()).toEqual([]);

    const again = await sys.post(`/v1/investigations/${id}/cancel`, {});
    expect(again.status).toBe(409);
  });
});

describe.skipIf(skipBpf)(bpfSuiteName('an investigation survives an orchestrator restart'), () => {
  let sys: TestSystem;

  beforeAll(async () => {
    assertBpf();
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('completes after the orchestrator that dispatched the capture is gone', async () => {
    const res = await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' }, params: { duration: '3s' } });
    const id = res.json.id as string;
    await sys.waitFor(id, (inv) => inv.steps[0]?.status === 'running');
    // The capture runs on the agent while no orchestrator exists; the new one picks the parked job up.
    await sys.restartOrchestrator(1000);
    const inv = await sys.waitFor(id);
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    // Exactly one capture for the step that was in flight across the restart, none repeated.
    expectStep(inv, 'errors', { status: 'succeeded', tool: 'syscount' });
    expect(inv.summary?.headline).toBeTruthy();
  });
});

describe.skipIf(skipBpf)(bpfSuiteName('captures do not outlive their agent'), () => {
  let sys: TestSystem;
  let agent: ChildProcess | undefined;
  const KILL_GRACE_MS = 2000;

  beforeAll(async () => {
    assertBpf();
    sys = await startSystem();
  });
  afterAll(async () => {
    if (agent) killAgent(agent);
    await sys?.stop();
  });

  it('SIGKILL of the agent mid-capture leaves no bpftrace or timeout of it alive past the kill grace', async () => {
    agent = await startAgentProcess(sys, 'crashing-node', { CAPTURE_KILL_GRACE: `${KILL_GRACE_MS}ms` });
    const res = await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'crashing-node' }, params: { duration: '60s' } });
    await sys.waitFor(res.json.id as string, (inv) => inv.steps[0]?.status === 'running');
    // The agent's capture: a process group led by `timeout`, with bpftrace in it.
    // The step is "running" once dispatched, which can be before the agent has started its capture: pgrep then finds
    // no child and exits 1, which means none yet.
    const children = () => {
      const r = spawnSync('pgrep', ['-P', String(agent!.pid)], { encoding: 'utf8' });
      if (r.status !== 0 && r.status !== 1) throw new Error(`pgrep failed: ${r.stderr}`);
      return r.stdout.split('\n').filter(Boolean).map(Number);
    };
    const bpftraceGroup = () => children().filter((pid) => processGroup(pid).some((p) => p.comm === 'bpftrace'));
    for (let i = 0; i < 100 && bpftraceGroup().length === 0; i++) await sleep(50);
    await sleep(1000); // attached and counting
    const before = bpftraceGroup();
    expect(before).toHaveLength(1);
    const pgid = before[0]!;
    expect(processGroup(pgid).map((p) => p.comm).sort()).toEqual(['bpftrace', 'timeout']);

    expect(crashAgent(agent)).toContain(pgid);
    const took = await timeUntilGone(pgid, 10_000);
    expect(took, `still alive 10 s after the agent died: ${JSON.stringify(processGroup(pgid))}`).not.toBeNull();
    expect(took!).toBeLessThan(KILL_GRACE_MS + 1000);
  });
});

