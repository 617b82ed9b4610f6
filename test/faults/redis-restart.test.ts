import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { HEARTBEAT_MS, KILL_GRACE_MS, PART_NAMES, startRig, tracefsState, waitUntil, type Rig } from '../helpers/parts.ts';
import { expectInvariants, expectNoCaptureSurvivors } from './checks.ts';
import { faultLog } from './fault-log.ts';

let rig: Rig;
const log = faultLog('redis-restart', () => rig?.logs() ?? '');
const PROGRAM = 'bpf/bpftrace/execsnoop/program.bt';
/** ioredis reconnects with a backoff of at most 2 s; the parts must be back well within this. */
const RECONNECT_WITHIN_MS = 15_000;

/**
 * Redis restarts empty (no persistence) under a running investigation: every key is gone, including that
 * investigation's record and jobs. Nothing may hang: the parts reconnect, the API answers, the capture that was
 * running stops at its box, and a new investigation runs to its end.
 */
describe.skipIf(skipBpf)(bpfSuiteName('fault: Redis restarts without persistence'), () => {

  beforeAll(async () => {
    assertBpf();
    rig = await startRig({ label: 'redis' });
    await rig.startAll();
  });
  afterAll(async () => {
    await rig?.stop();
    log.printTable();
  });

  it('mid-capture: parts reconnect, the lost record is a 404 at once, a new investigation succeeds', async () => {
    const fault = log.begin('Redis restart without persistence (mid-capture)');
    const tracefsBefore = tracefsState();
    const lost = await rig.investigate({ duration: '3s' });
    await rig.captures.waitFor(PROGRAM);
    await rig.redis.restart();
    const restartedAt = Date.now();

    // The API answers at once from the new, empty Redis: the record went with the old one.
    const gone = await rig.get(`/v1/investigations/${lost}`, { timeoutMs: 5_000 });
    expect(gone.status, gone.text).toBe(404);
    const readyMs = await waitUntil(async () => (await rig.get('/readyz', { token: null, timeoutMs: 3_000 })).status === 200, RECONNECT_WITHIN_MS, 'ready /readyz');
    // The agent announces itself again in the new Redis.
    await waitUntil(
      async () => ((await rig.get('/v1/nodes')).json.items as { name: string }[]).some((n) => n.name === rig.node),
      RECONNECT_WITHIN_MS + 3 * HEARTBEAT_MS,
      `node ${rig.node} registered again`,
    );
    // The capture of the lost investigation still stops at its box (3 s from attach, plus the kill grace).
    await expectNoCaptureSurvivors(rig, 3_000 + KILL_GRACE_MS + 2_000);
    for (const p of PART_NAMES) expect(rig.parts[p].running, `${p} exited:\n${rig.parts[p].output()}`).toBe(true);

    const inv = await rig.waitForEnd(await rig.investigate({ duration: '1s' }));
    fault.ended(inv, `lost record answered 404; /readyz ready ${(readyMs / 1000).toFixed(1)} s after the restart; new investigation ${((Date.parse(inv.finishedAt ?? '') - restartedAt) / 1000).toFixed(1)} s after it`);
    expect(inv.status, JSON.stringify(inv).slice(0, 1500)).toBe('succeeded');
    expect(inv.summary?.headline).toMatch(/executions/);
    await expectInvariants(rig, inv, tracefsBefore);
  }, 180_000);
});
