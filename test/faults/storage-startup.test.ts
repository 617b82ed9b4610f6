import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { PART_NAMES, SLOW, sleep, startRig, tracefsState, waitUntil, type Rig } from '../helpers/parts.ts';
import type { ProxyMode } from '../helpers/tcp-proxy.ts';
import { expectInvariants } from './checks.ts';
import { faultLog } from './fault-log.ts';

let rig: Rig;
const log = faultLog('storage-startup', () => rig?.logs() ?? '');

/** The issue's bound on /readyz, whatever the dependencies do. */
const READYZ_WITHIN_MS = 2_000;
/** How soon after storage answers again the service must say it is ready (its retry backs off, up to 15 s). */
const READY_AFTER_RECOVERY_MS = 30_000;

/** The API's /readyz, timed; a problem's `errors[]` name each dependency that is not ready. */
async function readyz(rig: Rig) {
  const res = await rig.get('/readyz', { token: null, timeoutMs: 10_000 });
  const failing = ((res.json.errors ?? []) as { path: string; message: string }[]).map((e) => e.path);
  return { ...res, failing };
}

/** Ready, or not ready because of storage alone (Redis is fine throughout), as a problem. */
const verdict = (p: Awaited<ReturnType<typeof readyz>>) => ({ status: p.status, failing: p.failing, problem: p.status === 503 && /application\/problem\+json/.test(p.contentType ?? '') });
const READY = { status: 200, failing: [], problem: false };
const STORAGE_NOT_READY = { status: 503, failing: ['object storage'], problem: true };

/**
 * Refused and hung storage cannot answer a probe, and every part must log why it is not ready; slow storage may
 * answer in time, or not (and then its parts have nothing to say).
 */
const cases: { mode: ProxyMode; verdicts: object[]; mustLog: readonly string[] }[] = [
  { mode: 'refuse', verdicts: [STORAGE_NOT_READY], mustLog: PART_NAMES },
  { mode: 'hang', verdicts: [STORAGE_NOT_READY], mustLog: PART_NAMES },
  { mode: 'slow', verdicts: [READY, STORAGE_NOT_READY], mustLog: [] },
];

describe.skipIf(skipBpf)(bpfSuiteName('fault: object storage is down while the parts start, and under /readyz'), () => {

  beforeAll(async () => {
    assertBpf();
    rig = await startRig({ label: 'startup', env: { LOG_LEVEL: 'info' } });
  });
  afterAll(async () => {
    await rig?.stop();
    log.printTable();
  });

  it.each(cases)(
    'S3 $mode at start-up: every part starts, /readyz says storage is not ready, and all is ready once S3 answers',
    async ({ mode, verdicts, mustLog }) => {
      const fault = log.begin(`S3 ${mode} at start-up`);
      await Promise.all(PART_NAMES.map((p) => rig.parts[p].stop()));
      for (const p of PART_NAMES) await rig.s3[p].mode(mode, SLOW);
      const t0 = Date.now();
      // Started means: printed that it runs. A start-up waiting on storage would time out here (or exit).
      await rig.startAll();
      fault.note(`parts started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

      const probe = await readyz(rig);
      expect(probe.ms).toBeLessThan(READYZ_WITHIN_MS);
      expect(verdicts, probe.text).toContainEqual(verdict(probe));
      // They keep running, and say in their log why they are not ready rather than waiting silently.
      await sleep(2_000);
      for (const p of PART_NAMES) expect(rig.parts[p].running, `${p} exited:\n${rig.parts[p].output()}`).toBe(true);
      const silent = PART_NAMES.filter((p) => mustLog.includes(p) && !/(object storage|S3)[^\n]*(not reachable|unreachable|not ready|no answer)/i.test(rig.parts[p].output()));
      expect(silent, 'parts whose log does not say storage is unreachable').toEqual([]);

      const recoveredAt = Date.now();
      for (const p of PART_NAMES) await rig.s3[p].mode('pass');
      const readyMs = await waitUntil(async () => (await readyz(rig)).status === 200, READY_AFTER_RECOVERY_MS, 'ready /readyz after storage came back');
      const tracefsBefore = tracefsState();
      const inv = await rig.waitForEnd(await rig.investigate({ duration: '1s' }));
      fault.ended(inv, `ready ${(readyMs / 1000).toFixed(1)} s after S3 came back (${((Date.now() - recoveredAt) / 1000).toFixed(1)} s to a finished investigation)`);
      expect(inv.status, JSON.stringify(inv).slice(0, 1500)).toBe('succeeded');
      await expectInvariants(rig, inv, tracefsBefore);
    },
    240_000,
  );

  it.each(cases)('S3 $mode under /readyz: it answers within 2 s, naming storage when not ready', async ({ mode, verdicts }) => {
    const fault = log.begin(`S3 ${mode} under /readyz`);
    for (const p of PART_NAMES) if (!rig.parts[p].running) await rig.parts[p].start();
    await waitUntil(async () => (await readyz(rig)).status === 200, READY_AFTER_RECOVERY_MS, 'ready /readyz before the fault');
    await rig.s3.api.mode(mode, SLOW);
    // Several probes: the first after the fault, and later ones that may meet connections frozen by it.
    const probes = [];
    for (let i = 0; i < 3; i++) probes.push(await readyz(rig));
    await rig.s3.api.mode('pass');
    const worst = Math.max(...probes.map((p) => p.ms));
    fault.outcome(`${probes.map((p) => p.status).join(', ')}${probes.some((p) => p.status === 503) ? ` (${probes.find((p) => p.status === 503)!.failing.join(', ')})` : ''}`, worst);
    for (const p of probes) {
      expect(p.ms, `/readyz took ${Math.round(p.ms)} ms`).toBeLessThan(READYZ_WITHIN_MS);
      expect(verdicts, p.text).toContainEqual(verdict(p));
    }
    await waitUntil(async () => (await readyz(rig)).status === 200, READY_AFTER_RECOVERY_MS, 'ready /readyz after the fault');
  });
});
