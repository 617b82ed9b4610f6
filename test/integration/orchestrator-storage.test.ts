import { createServer, type Server, type Socket } from 'node:net';
import type { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import type { CaptureJob, CaptureReply } from '../../src/queue/jobs.ts';
import { openQueue } from '../../src/queue/open.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { ArtifactStore } from '../../src/storage/artifact-store.ts';
import { s3Limits, type S3Limits } from '../../src/storage/s3-options.ts';
import { createS3Client } from '../../src/storage/s3-client.ts';
import { artifactKey } from '../../src/storage/keys.ts';
import { REPORT_STORE_WAIT_MS } from '../../workers/orchestrator/reports.ts';
import { orchestratorHarness, type OrchestratorHarness } from '../helpers/orchestrator-harness.ts';
import { testS3 } from '../helpers/services.ts';

const ended = (inv: Investigation) => ['succeeded', 'failed', 'cancelled'].includes(inv.status);
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const RETRANS = { flows: [], total: 0, distinctFlows: 0 };

/** A real ArtifactStore for an S3 endpoint that is not the test's (refused or hung): no mock in between. */
function storeAt(endpoint: string, limits: S3Limits): ArtifactStore {
  const client = createS3Client({ endpoint, region: 'us-east-1', accessKeyId: 'x', secretAccessKey: 'y', forcePathStyle: true, limits });
  return new ArtifactStore({ client, bucket: inject('s3').bucket });
}

/** Accepts connections and never answers: S3 hung. */
async function hungServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

/** The orchestrator side of object storage faults: results are kept and said, reports and late artifacts follow. */
describe('orchestrator with object storage faults', () => {
  const s3 = testS3();
  let h: OrchestratorHarness;
  let lateQueue: Queue;
  let reportsQueue: Queue;
  beforeAll(async () => {
    h = await orchestratorHarness('storage');
    lateQueue = openQueue(QUEUES.lateArtifacts, { connection: h.redis, prefix: h.prefix });
    reportsQueue = openQueue(QUEUES.reports, { connection: h.redis, prefix: h.prefix });
  });
  // An orchestrator left running by a failed test (one with a refused store, say) would take the next test's jobs.
  afterEach(() => h.stopAll());
  afterAll(async () => {
    await lateQueue?.close();
    await reportsQueue?.close();
    await h?.close();
    s3.client.destroy();
  });
  const succeeded = (job: CaptureJob, over: Partial<CaptureReply> = {}): CaptureReply => ({
    stepId: job.stepId, node: job.node, status: 'succeeded', startedAt: ago(1000), finishedAt: ago(0), result: RETRANS, artifacts: [], ...over,
  });
  const ref = (id: string, name: string) => ({ name, key: artifactKey(id, name), contentType: 'application/json', size: 2 });

  it('refused at finish: the result is recorded with the note, and the retry stores the report once storage is back', async () => {
    // Port 1 (tcpmux), which nothing here serves: a free port found and let go could be taken by a server another
    // test file starts meanwhile, and this store would then reach it.
    const refused = storeAt('http://127.0.0.1:1', { connectTimeoutMs: 500, requestTimeoutMs: 1000, maxAttempts: 1 });
    await h.liveNode('node-refused');
    h.agent('node-refused', async (job) => succeeded(job));
    const broken = await h.start({ store: refused, reaperIntervalMs: 60_000 });
    const id = await h.investigate('tcp-retrans', { node: 'node-refused' }, { duration: '1s' });

    const inv = await h.waitFor(id, ended);
    expect(inv).toMatchObject({ status: 'succeeded', summary: { headline: 'No TCP retransmits during the capture' } });
    expect(inv.note).toMatch(/^report not stored yet: object storage unreachable since \d\d:\d\d UTC; will retry$/);
    expect(inv.artifacts.map((a) => a.name)).not.toContain('summary.json');
    // The final notification follows the record's last write: the record can be read as ended just before it.
    await expect.poll(() => h.finals).toContain(id);
    expect(await (await reportsQueue.getJob(id))?.getState()).toMatch(/delayed|active|waiting/);

    // Storage is back: an orchestrator with a store that answers takes the retry.
    await h.stop(broken);
    await refused.close();
    const working = await h.start({ store: s3.store, reaperIntervalMs: 60_000 });
    const job = await reportsQueue.getJob(id);
    if ((await job?.getState()) === 'delayed') await job!.promote();
    const stored = await h.waitFor(id, (x) => x.note === undefined, 15_000);
    expect(stored.artifacts.map((a) => a.name)).toEqual(expect.arrayContaining(['summary.json', 'report.md', 'report.html']));
    expect(stored.artifacts.find((a) => a.name === 'report.md')).toMatchObject({ url: `/v1/investigations/${id}/artifacts/report.md` });
    const summary = JSON.parse((await s3.store.get(artifactKey(id, 'summary.json'))).body.toString('utf8')) as Investigation;
    expect(summary).toMatchObject({ id, status: 'succeeded', summary: { headline: 'No TCP retransmits during the capture' } });
    expect((await s3.store.get(artifactKey(id, 'report.md'))).body.toString('utf8')).toContain('No TCP retransmits during the capture');
    await h.stop(working);
  });

  it('hung at finish: reading flamegraphs back and storing the report are bounded, and the result is recorded', async () => {
    const hung = await hungServer();
    const store = storeAt(hung.url, s3Limits(loadConfig({})));
    try {
      await h.liveNode('node-hung');
      let answeredAt = 0;
      h.agent('node-hung', async (job) => {
        answeredAt = Date.now();
        return succeeded(job, { artifacts: [{ ...ref(job.investigationId, `${job.stepId}/${job.node}/flamegraph.svg`), contentType: 'image/svg+xml' }] });
      });
      const o = await h.start({ store, reaperIntervalMs: 60_000 });
      const id = await h.investigate('tcp-retrans', { node: 'node-hung' }, { duration: '1s' });
      const inv = await h.waitFor(id, ended, 20_000);
      const took = Date.now() - answeredAt;
      expect(inv).toMatchObject({ status: 'succeeded', summary: { headline: 'No TCP retransmits during the capture' } });
      expect(inv.note).toMatch(/^report not stored yet: object storage (did not answer in time|timed out) since \d\d:\d\d UTC; will retry$/);
      expect(took).toBeLessThan(REPORT_STORE_WAIT_MS + 2000);
      await h.stop(o);
    } finally {
      await hung.close();
      await store.close();
    }
  });

  it('says which outputs of a kept result are not stored and for how long, and drops that as they arrive late', async () => {
    await h.liveNode('node-late');
    h.agent('node-late', async (job) =>
      succeeded(job, {
        unstored: ['raw.json', 'result.json'].map((f) => ({ name: `${job.stepId}/${job.node}/${f}`, since: ago(120_000), reason: 'object storage unreachable' })),
      }),
    );
    const o = await h.start({ store: s3.store, reaperIntervalMs: 60_000 });
    const id = await h.investigate('tcp-retrans', { node: 'node-late' }, { duration: '1s' });
    const inv = await h.waitFor(id, ended);
    const step = inv.steps.find((s) => s.id === 'retrans')!;
    expect(step).toMatchObject({ status: 'succeeded', result: RETRANS, unstored: [{ name: 'retrans/node-late/raw.json' }, { name: 'retrans/node-late/result.json' }] });
    expect(step.reason).toMatch(/^raw output and parsed result not stored: object storage unreachable for 2m( 1s)?$/);
    expect(inv).toMatchObject({ status: 'succeeded', summary: { headline: 'No TCP retransmits during the capture' } });

    // The agent's spool stores them and says so, both at once: the two merges must not lose each other.
    const names = ['retrans/node-late/raw.json', 'retrans/node-late/result.json'];
    for (const n of names) await s3.store.put(artifactKey(id, n), '{}', 'application/json');
    await Promise.all(names.map((n) => lateQueue.add('late-artifacts', { investigationId: id, stepId: 'retrans', node: 'node-late', artifacts: [ref(id, n)] })));
    // Not its own step's: ignored.
    await lateQueue.add('late-artifacts', { investigationId: id, stepId: 'retrans', node: 'node-late', artifacts: [ref(id, 'other/node-late/raw.json')] });

    const merged = await h.waitFor(id, (x) => names.every((n) => x.artifacts.some((a) => a.name === n)));
    const after = merged.steps.find((s) => s.id === 'retrans')!;
    expect(after.reason).toBeUndefined();
    expect(after.unstored).toBeUndefined();
    expect(after.artifacts).toEqual(expect.arrayContaining(names));
    expect(merged.artifacts.find((a) => a.name === names[0])).toMatchObject({ url: `/v1/investigations/${id}/artifacts/${names[0]}` });
    expect(merged.artifacts.map((a) => a.name)).not.toContain('other/node-late/raw.json');
    expect(merged.status).toBe('succeeded');
    // The stored report is rendered again from the record that lists them.
    await expect
      .poll(async () => (JSON.parse((await s3.store.get(artifactKey(id, 'summary.json'))).body.toString('utf8')) as Investigation).steps[0]?.artifacts, { timeout: 10_000 })
      .toEqual(expect.arrayContaining(names));
    await h.stop(o);
  });

  it('does not report missing what arrived late before its step was recorded', async () => {
    await h.liveNode('node-early');
    const o = await h.start({ store: s3.store, reaperIntervalMs: 60_000 });
    h.agent('node-early', async (job) => {
      const name = `${job.stepId}/${job.node}/raw.json`;
      await s3.store.put(artifactKey(job.investigationId, name), '{}', 'application/json');
      await lateQueue.add('late-artifacts', { investigationId: job.investigationId, stepId: job.stepId, node: job.node, artifacts: [ref(job.investigationId, name)] });
      await h.waitFor(job.investigationId, (x) => x.artifacts.some((a) => a.name === name));
      return succeeded(job, { unstored: [{ name, since: ago(5000), reason: 'object storage unreachable' }] });
    });
    const id = await h.investigate('tcp-retrans', { node: 'node-early' }, { duration: '1s' });
    const inv = await h.waitFor(id, ended);
    const step = inv.steps.find((s) => s.id === 'retrans')!;
    expect(step).toMatchObject({ status: 'succeeded', artifacts: ['retrans/node-early/raw.json'] });
    expect(step.reason).toBeUndefined();
    expect(inv.artifacts.filter((a) => a.name === 'retrans/node-early/raw.json')).toHaveLength(1);
    await h.stop(o);
  });
});
