import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { SLOW, startRig, tracefsState, type Rig } from '../helpers/parts.ts';
import { expectStep } from '../helpers/steps.ts';
import type { ProxyMode } from '../helpers/tcp-proxy.ts';
import { captureArtifacts, expectInvariants, RAW_ERROR, waitForStoredArtifacts } from './checks.ts';
import { faultLog } from './fault-log.ts';

let rig: Rig;
const log = faultLog('storage-upload', () => rig?.logs() ?? '');
const PROGRAM = 'bpf/bpftrace/execsnoop/program.bt';

/** How long the agent's spool may take to store what it kept once storage answers again. */
const SPOOL_FLUSH_WITHIN_MS = 60_000;

/**
 * Object storage refuses, hangs or crawls exactly when the agent uploads a finished capture (only the agent's path
 * to S3 is faulted). The parsed result must still reach the summary, and the files must be stored once storage is
 * back, from the agent's spool.
 */
describe.skipIf(skipBpf)(bpfSuiteName('fault: object storage fails as the agent uploads a capture'), () => {

  beforeAll(async () => {
    assertBpf();
    rig = await startRig({ label: 'upload' });
    await rig.startAll();
  });
  afterAll(async () => {
    await rig?.stop();
    log.printTable();
  });

  // Refused and hung uploads cannot succeed, so the step must say in words what is not stored yet; a slow one may
  // get through (no reason) or time out (then it says so too).
  const NOT_STORED = /not stored.*storage|storage.*not stored/i;
  const cases: { mode: ProxyMode; reasonSays: RegExp }[] = [
    { mode: 'refuse', reasonSays: NOT_STORED },
    { mode: 'hang', reasonSays: NOT_STORED },
    { mode: 'slow', reasonSays: new RegExp(`^$|${NOT_STORED.source}`, 'i') },
  ];
  it.each(cases)(
    'S3 $mode at upload: the result reaches the summary, the files are stored once S3 is back',
    async ({ mode, reasonSays }) => {
      const fault = log.begin(`S3 ${mode} at agent upload`);
      const tracefsBefore = tracefsState();
      const id = await rig.investigate({ duration: '2s' });
      await rig.captures.waitFor(PROGRAM);
      // The capture runs: the agent's next call to storage is its upload.
      await rig.s3.agent.mode(mode, SLOW);

      const collected = await rig.waitFor(id, (inv) => inv.steps.some((s) => s.id === 'execs' && s.status !== 'running'), 60_000);
      const step = expectStep(collected, 'execs', { status: 'succeeded' });
      expect(step.result).toBeTruthy();
      expect(step.reason ?? '').not.toMatch(RAW_ERROR);
      expect(step.reason ?? '', 'a step whose files are not stored says so').toMatch(reasonSays);
      const recoveredAt = Date.now();
      await rig.s3.agent.mode('pass');

      const ended = await rig.waitForEnd(id);
      fault.ended(ended, step.reason ? `step said: ${step.reason}` : 'step gave no reason');
      expect(ended.status, JSON.stringify(ended).slice(0, 1500)).toBe('succeeded');
      expect(ended.summary?.headline).toMatch(/executions/);
      const { inv } = await waitForStoredArtifacts(rig, id, captureArtifacts(ended), SPOOL_FLUSH_WITHIN_MS);
      fault.note(`capture files stored ${((Date.now() - recoveredAt) / 1000).toFixed(1)} s after S3 came back`);
      await expectInvariants(rig, inv, tracefsBefore);
    },
    180_000,
  );
});
