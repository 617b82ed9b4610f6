import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { HEARTBEAT_MS, KILL_GRACE_MS, startRig, tracefsState, type Rig } from '../helpers/parts.ts';
import { describeSteps, expectStep } from '../helpers/steps.ts';
import { expectCapturesAccountedFor, expectEndedByDeadline, expectNoDuplicateSteps, RAW_ERROR } from './checks.ts';
import { faultLog } from './fault-log.ts';

let rig: Rig;
const log = faultLog('agent-kill', () => rig?.logs() ?? '');
const PROGRAM = 'bpf/bpftrace/execsnoop/program.bt';

describe.skipIf(skipBpf)(bpfSuiteName('fault: the agent is SIGKILLed mid-capture'), () => {

  beforeAll(async () => {
    assertBpf();
    rig = await startRig({ label: 'agentkill' });
    await rig.startAll();
  });
  afterAll(async () => {
    await rig?.stop();
    log.printTable();
  });

  it('its capture processes die with it, the step fails saying the agent is gone, and a restarted agent captures again', async () => {
    const fault = log.begin('agent SIGKILL mid-capture (10 s box)');
    const tracefsBefore = tracefsState();
    const id = await rig.investigate({ duration: '10s' });
    const running = await rig.captures.waitFor(PROGRAM);
    await new Promise((r) => setTimeout(r, 1_500)); // attached and counting

    const killedAt = Date.now();
    await rig.parts.agent.kill();
    // Tied to the agent's life: nothing of the capture outlives it by more than the kill grace (the box had 8 s left).
    const survivors = await rig.captures.settle(KILL_GRACE_MS + 500);
    fault.note(`capture processes gone ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    expect(running.length).toBeGreaterThan(0);
    expect(survivors.map((p) => `${p.pid} ${p.cmdline}`), 'capture processes outlived the agent past the kill grace').toEqual([]);

    const inv = await rig.waitForEnd(id);
    fault.ended(inv);
    expect(inv.status, describeSteps(inv.steps)).toBe('failed');
    expectEndedByDeadline(inv);
    // The watchdog notices within the registry TTL (three beats), not at the end of the box.
    expect(Date.parse(inv.finishedAt!) - killedAt).toBeLessThan(3 * HEARTBEAT_MS + 4_000);
    expectNoDuplicateSteps(inv);
    const step = expectStep(inv, 'execs', { status: 'failed', reason: expect.stringMatching(/agent|heartbeat/) });
    expect(step.reason).not.toMatch(RAW_ERROR);
    await expectCapturesAccountedFor(rig, inv);
    expect(tracefsState()).toEqual(tracefsBefore);

    // The node works again once its agent is back (and restored whatever the dead one left in tracefs).
    await rig.parts.agent.start();
    expect(tracefsState()).toEqual(tracefsBefore);
    const again = await rig.waitForEnd(await rig.investigate({ duration: '1s' }));
    expect(again.status, describeSteps(again.steps)).toBe('succeeded');
    expectNoDuplicateSteps(again);
    await expectCapturesAccountedFor(rig, again);
  });
});
