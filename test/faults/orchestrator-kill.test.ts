import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILPOINTS_ENV, FAILPOINTS_STATE_ENV, type FailpointName } from '../../src/faults/failpoints.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { startHookServer, type HookServer } from '../helpers/hook-server.ts';
import { sleep, startRig, tracefsState, waitUntil, type Rig } from '../helpers/parts.ts';
import { captureArtifacts, chatPosts, expectInvariants, expectNoDuplicateMessages, RAW_ERROR } from './checks.ts';
import { faultLog, type FaultObservation } from './fault-log.ts';

let rig: Rig;
const log = faultLog('orchestrator-kill', () => rig?.logs() ?? '');

/**
 * The orchestrator dies (SIGKILL at a failpoint) while it dispatches a step's captures or as it finishes, and its
 * supervisor restarts it with the same environment each time. Once: the restarted one completes the investigation,
 * with nothing recorded or posted twice. Twice: BullMQ gives the job up as stalled, and the record must still end
 * (`failed`, with a reason) instead of staying `running`.
 */
describe.skipIf(skipBpf)(bpfSuiteName('fault: the orchestrator is SIGKILLed while dispatching or finishing'), () => {
  let hook: HookServer;
  const stateDirs: string[] = [];

  beforeAll(async () => {
    assertBpf();
    hook = await startHookServer();
    rig = await startRig({ label: 'orchkill', env: { NOTIFY_URL_HOSTS: hook.url } });
    await rig.startAll();
  });
  afterAll(async () => {
    await rig?.stop();
    await hook?.close();
    for (const d of stateDirs) rmSync(d, { recursive: true, force: true });
    log.printTable();
  });

  const points: { point: FailpointName; where: string }[] = [
    { point: 'orchestrator.after-dispatch', where: 'while dispatching' },
    { point: 'orchestrator.before-finish', where: 'while finishing' },
  ];

  /**
   * Starts an investigation from Slack under an orchestrator that dies at `point` the first `times` times it gets
   * there, restarting it after each death as its supervisor would; returns the record once it ended.
   */
  async function crash(point: FailpointName, times: 1 | 2, fault: FaultObservation) {
    const stateDir = mkdtempSync(join(tmpdir(), 'th-failpoints-'));
    stateDirs.push(stateDir);
    await rig.parts.orchestrator.restart({
      env: { [FAILPOINTS_ENV]: `${point}=${times === 1 ? 'kill-once' : 'kill-twice'}`, [FAILPOINTS_STATE_ENV]: stateDir },
    });
    const tracefsBefore = tracefsState();
    const chat = `/commands/${point}/${times}`;
    const id = await rig.investigateFromSlack(`${hook.url}${chat}`, { duration: '2s' });
    // The job comes back to the next orchestrator only once BullMQ sees it stalled (its lock expired), which takes
    // up to a minute.
    for (let i = 1; i <= times; i++) {
      const exit = await rig.parts.orchestrator.exited(150_000);
      expect(exit, `orchestrator exit ${i}`).toEqual({ code: null, signal: 'SIGKILL' });
      await rig.parts.orchestrator.start();
    }
    const inv = await rig.waitForEnd(id);
    fault.ended(inv);
    return { inv, chat, tracefsBefore };
  }

  /** Exactly one final message in the channel, however many orchestrators tried to send it. */
  async function expectOneFinalMessage(chat: string) {
    await waitUntil(() => chatPosts(hook, chat).finalsAccepted.length >= 1, 15_000, `a final message at ${chat}`);
    await sleep(1_500); // a duplicate would follow within the notifier's first retry
    expect(chatPosts(hook, chat).finalsAccepted).toHaveLength(1);
    expectNoDuplicateMessages(hook, chat);
  }

  it.each(points)('SIGKILL $where, once: the restarted orchestrator completes it, nothing recorded or posted twice', async ({ point, where }) => {
    const fault = log.begin(`orchestrator SIGKILL ${where} (${point}), once`);
    const { inv, chat, tracefsBefore } = await crash(point, 1, fault);
    expect(inv.status, JSON.stringify(inv).slice(0, 1500)).toBe('succeeded');
    await expectInvariants(rig, inv, tracefsBefore);
    // The capture that ran across the crash is the one in the record: stored, with its summary.
    expect(inv.summary?.headline).toMatch(/executions/);
    expect(inv.artifacts.map((a) => a.name)).toEqual(expect.arrayContaining([...captureArtifacts(inv), 'summary.json', 'report.md']));
    await expectOneFinalMessage(chat);
  }, 300_000);

  it.each(points)('SIGKILL $where, twice: the record ends failed with a reason, not stuck running', async ({ point, where }) => {
    const fault = log.begin(`orchestrator SIGKILL ${where} (${point}), twice`);
    const { inv, chat, tracefsBefore } = await crash(point, 2, fault);
    expect(inv.status, JSON.stringify(inv).slice(0, 1500)).toBe('failed');
    expect(inv.reason).toMatch(/\w{3,} \w{3,}/);
    expect(inv.reason).not.toMatch(RAW_ERROR);
    await expectInvariants(rig, inv, tracefsBefore);
    await expectOneFinalMessage(chat);
  }, 300_000);
});
