import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { SLOW, startRig, tracefsState, type Rig } from '../helpers/parts.ts';
import type { ProxyMode } from '../helpers/tcp-proxy.ts';
import { captureArtifacts, expectInvariants, waitForStoredArtifacts } from './checks.ts';
import { faultLog } from './fault-log.ts';

let rig: Rig;
const log = faultLog('storage-finish', () => rig?.logs() ?? '');
const PROGRAM = 'bpf/bpftrace/execsnoop/program.bt';
const REPORT_FILES = ['summary.json', 'report.md', 'report.html'];
/** How long the orchestrator's report retry may take to store the report once storage answers again. */
const REPORT_RETRY_WITHIN_MS = 60_000;

/**
 * Object storage refuses, hangs or crawls for the orchestrator only, from while the capture runs (its next call to
 * storage is storing the report as it finishes). The record must still end with its summary, by its deadline, and
 * the report be stored once storage is back.
 */
describe.skipIf(skipBpf)(bpfSuiteName('fault: object storage fails as the orchestrator finishes'), () => {

  beforeAll(async () => {
    assertBpf();
    rig = await startRig({ label: 'finish' });
    await rig.startAll();
  });
  afterAll(async () => {
    await rig?.stop();
    log.printTable();
  });

  it.each<ProxyMode>(['refuse', 'hang', 'slow'])(
    'S3 %s at finish: the record ends with its summary, the report is stored once S3 is back',
    async (mode) => {
      const fault = log.begin(`S3 ${mode} at finish`);
      const tracefsBefore = tracefsState();
      const id = await rig.investigate({ duration: '2s' });
      await rig.captures.waitFor(PROGRAM);
      await rig.s3.orchestrator.mode(mode, SLOW);

      const ended = await rig.waitForEnd(id);
      fault.ended(ended);
      expect(ended.status, JSON.stringify(ended).slice(0, 1500)).toBe('succeeded');
      expect(ended.summary?.headline).toMatch(/executions/);
      // The agent's path to storage was fine: the capture's own files are there already.
      expect(ended.artifacts.map((a) => a.name)).toEqual(expect.arrayContaining(captureArtifacts(ended)));

      const recoveredAt = Date.now();
      await rig.s3.orchestrator.mode('pass');
      const { inv } = await waitForStoredArtifacts(rig, id, REPORT_FILES, REPORT_RETRY_WITHIN_MS);
      expect((await rig.get(`/v1/investigations/${id}/report`)).status).toBe(200);
      const summary = await rig.get(`/v1/investigations/${id}/artifacts/summary.json`);
      expect(summary.json).toMatchObject({ id, status: 'succeeded', summary: { headline: ended.summary!.headline } });
      fault.note(`report stored ${((Date.now() - recoveredAt) / 1000).toFixed(1)} s after S3 came back`);
      await expectInvariants(rig, inv, tracefsBefore);
    },
    180_000,
  );
});
