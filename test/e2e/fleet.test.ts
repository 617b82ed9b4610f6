import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Investigation } from '../../src/core/investigation.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { sleep } from '../helpers/kernel.ts';
import { killAgent, startAgentProcess } from '../helpers/agent-process.ts';
import { describeSteps, expectStep, expectStepOnNodes } from '../helpers/steps.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/** Two node agents on this machine — one in the test process, one a separate `tracehound agent` process. */
describe.skipIf(skipBpf)(bpfSuiteName('fleet: fan-out over live nodes, and a node that dies mid-investigation'), () => {
  let sys: TestSystem;
  let other: ChildProcess | undefined;

  const startOther = async (name: string) => {
    other = await startAgentProcess(sys, name);
  };

  beforeAll(async () => {
    assertBpf();
    sys = await startSystem();
  });
  afterAll(async () => {
    if (other) killAgent(other);
    await sys?.stop();
  });

  it('a fleet-wide sweep runs each step on every live node', async () => {
    await startOther('node-b');
    const res = await sys.post('/v1/investigations', { playbook: 'health-sweep', params: { duration: '1s' } });
    expect(res.status).toBe(202);
    const inv = await sys.waitFor(res.json.id as string, undefined, 90_000);
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    for (const id of ['errors', 'runq', 'io', 'retrans', 'kills']) {
      expectStepOnNodes(inv, id, { 'node-b': 'succeeded', 'test-node': 'succeeded' });
    }
    expect(inv.artifacts.map((a) => a.name)).toEqual(expect.arrayContaining(['errors/node-b/result.json', 'errors/test-node/result.json']));
  });

  it('a targetless request for a playbook that is not fleet-wide is refused', async () => {
    const res = await sys.post('/v1/investigations', { playbook: 'enospc' });
    expect(res.status).toBe(400);
    expect((res.json.errors as { path: string }[])[0]?.path).toBe('target');
  });

  it('killing one agent fails only its capture, promptly and with the reason', async () => {
    if (!other || other.exitCode !== null) await startOther('node-b');
    const res = await sys.post('/v1/investigations', { playbook: 'health-sweep', params: { duration: '4s' } });
    const id = res.json.id as string;
    await sys.waitFor(id, (inv) => inv.steps.filter((s) => s.id === 'errors' && s.status === 'running').length === 2);
    await sleep(1000);
    const killedAt = Date.now();
    killAgent(other!);

    const first = await sys.waitFor(id, (inv) => inv.steps.some((s) => s.id === 'errors' && s.node === 'node-b' && s.status === 'failed'), 30_000);
    // Registry TTL is three 1 s heartbeats; the watchdog looks every second.
    expect(Date.now() - killedAt).toBeLessThan(6000);
    expectStep(first, 'errors', { status: 'failed', reason: 'node node-b stopped heartbeating during the capture (agent gone)' }, 'node-b');

    const inv: Investigation = await sys.waitFor(id, undefined, 90_000);
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    expectStep(inv, 'errors', { status: 'succeeded' }, 'test-node');
    // Later steps go only to the node still alive.
    expect(inv.steps.filter((s) => s.id === 'kills').map((s) => s.node)).toEqual(['test-node']);
  });
});
