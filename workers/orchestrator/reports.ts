import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { describeDurationMs } from '../../src/core/duration.ts';
import { isTerminal, type Investigation } from '../../src/core/investigation.ts';
import { mergeArtifacts, withUrl, type RecordArtifact } from '../../src/core/record-artifacts.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { renderReportMarkdown } from '../../src/report/markdown.ts';
import { FLAMEGRAPH_ARTIFACT, isStepArtifact, OFFCPU_FLAMEGRAPH_ARTIFACT } from '../../src/flamegraph/artifacts.ts';
import { createRedis, type RedisTarget } from '../../src/redis/connection.ts';
import type { InvestigationRecords } from '../../src/records/investigation-records.ts';
import { RedisKeys } from '../../src/redis/keys.ts';
import { StoreReportsJob } from '../../src/queue/jobs.ts';
import { startWorker } from '../../src/queue/open.ts';
import { QUEUES, type JobOf, type QueueOf } from '../../src/queue/queues.ts';
import type { SweepComparison } from '../../src/sweeps/compare.ts';
import type { ArtifactStore } from '../../src/storage/artifact-store.ts';
import { artifactKey } from '../../src/storage/keys.ts';
import { describeStorageError } from '../../src/storage/storage-errors.ts';

/**
 * How long finishing an investigation waits for its report files. Past it (or on a storage error) the result is
 * recorded anyway, saying the report is not stored yet, and a StoreReportsJob stores it when storage is back.
 */
export const REPORT_STORE_WAIT_MS = 5_000;
/** How long the retry job gives one attempt; the S3 client's own timeouts usually end it sooner. */
const RETRY_STORE_WAIT_MS = 60_000;
/** Retries back off from 1 s, doubling to at most a minute, for about a day: storage that comes back is used soon. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;
const RETRY_ATTEMPTS = 1_500;
const RETRY_BACKOFF = 'report-retry';

interface ReportFile {
  name: string;
  body: string;
  contentType: string;
}

/** Settles like `p`, or rejects after `ms`: for calls that take no signal. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what}: no answer within ${describeDurationMs(ms)}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * summary.json, report.md and report.html (with every flamegraph the captures stored inline, so it stands alone
 * when downloaded), and comparison.json for a sweep compared with earlier runs. A flamegraph that cannot be read
 * back in time is left out of the HTML rather than holding the report up.
 */
async function renderReports(store: ArtifactStore, inv: Investigation, comparison: SweepComparison | undefined, waitMs: number): Promise<ReportFile[]> {
  // On-CPU and off-CPU (latency) graphs alike: each is its own section, named by its artifact.
  const svgs = inv.artifacts.filter((a) => isStepArtifact(a.name, FLAMEGRAPH_ARTIFACT) || isStepArtifact(a.name, OFFCPU_FLAMEGRAPH_ARTIFACT));
  const read = await Promise.all(
    svgs.map(async (a) => {
      const got = await within(store.get(a.key), waitMs, `reading ${a.name}`).catch(() => null);
      return got ? ([a.name, got.body.toString('utf8')] as const) : null;
    }),
  );
  const flamegraphs = new Map(read.filter((x) => x !== null));
  return [
    { name: 'summary.json', body: JSON.stringify({ schemaVersion: 1, ...inv }, null, 2), contentType: 'application/json' },
    { name: 'report.md', body: renderReportMarkdown(inv), contentType: 'text/markdown; charset=utf-8' },
    { name: 'report.html', body: renderReportHtml(inv, flamegraphs), contentType: 'text/html; charset=utf-8' },
    ...(comparison ? [{ name: 'comparison.json', body: JSON.stringify(comparison, null, 2), contentType: 'application/json' }] : []),
  ];
}

/** Renders and stores the report files of `inv` within `waitMs`; throws the storage error (or the wait's end). */
export async function storeReports(store: ArtifactStore, inv: Investigation, comparison: SweepComparison | undefined, waitMs: number): Promise<RecordArtifact[]> {
  const signal = AbortSignal.timeout(waitMs);
  const work = async () => {
    const files = await renderReports(store, inv, comparison, waitMs);
    return Promise.all(
      files.map(async (f) => {
        const key = artifactKey(inv.id, f.name);
        const { size } = await store.put(key, f.body, f.contentType, { signal });
        return withUrl(inv.id, { name: f.name, key, contentType: f.contentType, size });
      }),
    );
  };
  return within(work(), waitMs, 'storing the report');
}

const clock = (iso: string, now = new Date()) => {
  const t = new Date(iso);
  const hm = t.toISOString().slice(11, 16);
  return t.toISOString().slice(0, 10) === now.toISOString().slice(0, 10) ? `${hm} UTC` : `${t.toISOString().slice(0, 10)} ${hm} UTC`;
};

/** What an ended record says while its report is not stored: "report not stored yet: object storage unreachable since 14:02 UTC; will retry". */
export function reportNote(since: string, why: string, gaveUpAfter: number | null = null): string {
  return gaveUpAfter === null
    ? `report not stored yet: ${why} since ${clock(since)}; will retry`
    : `report not stored: ${why} since ${clock(since)}; gave up after ${gaveUpAfter} tries`;
}

/** Why storing failed, in words, for the note: the storage error's, or that the wait ran out. */
export const storeFailure = (err: unknown) => (err instanceof Error && /no answer within/.test(err.message) ? 'object storage did not answer in time' : describeStorageError(err, 'upload'));

/**
 * Requests to store an ended investigation's report files: one BullMQ job per investigation (its id), plus a flag
 * per investigation saying "render again". A request made while the job runs cannot add a second job (same id), so
 * the flag tells the running job to render once more from the newer record, or, if it had just finished, to queue
 * itself again: every request is served by a rendering that starts after it.
 */
export class ReportRequests {
  private readonly keys: RedisKeys;

  constructor(
    readonly queue: QueueOf<typeof QUEUES.reports>,
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  private pendingKey = (id: string) => this.keys.reportsPending(id);

  async request(job: StoreReportsJob): Promise<void> {
    await this.redis.set(this.pendingKey(job.investigationId), '1', 'EX', 7 * 24 * 3600);
    await this.queue.add('store-reports', StoreReportsJob.parse(job), {
      jobId: job.investigationId,
      // A failed first try waits for the backoff's first step; a report to refresh (late artifacts) goes at once.
      delay: job.since ? RETRY_FIRST_MS : 0,
      attempts: RETRY_ATTEMPTS,
      backoff: { type: RETRY_BACKOFF },
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  /** Marks the requests so far as being served: call before reading the record. */
  async take(id: string): Promise<void> {
    await this.redis.del(this.pendingKey(id));
  }

  async pending(id: string): Promise<boolean> {
    return (await this.redis.exists(this.pendingKey(id))) === 1;
  }
}

/** Stores the report files requested (ReportRequests), rendered from the record as it is now, and lists them on it. */
export function startReportWorker(opts: {
  redis: RedisTarget;
  prefix: string;
  store: ArtifactStore;
  records: InvestigationRecords;
  requests: ReportRequests;
  log: Logger;
}): { close(): Promise<void> } {
  const log = opts.log.child({ part: 'reports' });
  const process = async (data: StoreReportsJob, job: JobOf<typeof QUEUES.reports>) => {
    do {
      await opts.requests.take(data.investigationId);
      const inv = await opts.records.find(data.investigationId);
      if (!inv || !isTerminal(inv.status)) return;
      let stored: RecordArtifact[];
      try {
        stored = await storeReports(opts.store, inv, data.comparison, RETRY_STORE_WAIT_MS);
      } catch (err) {
        const since = data.since ?? new Date(job.timestamp).toISOString();
        const attempts = job.opts.attempts ?? 1;
        const last = job.attemptsMade + 1 >= attempts;
        await opts.records.update(inv.id, (cur) => ({ ...cur, note: reportNote(since, storeFailure(err), last ? attempts : null) }));
        throw err;
      }
      await opts.records.update(inv.id, ({ note: _stored, ...cur }) => ({ ...cur, artifacts: mergeArtifacts(cur.artifacts, stored) }));
      log.info({ investigation: inv.id, files: stored.map((a) => a.name) }, 'report stored');
    } while (await opts.requests.pending(data.investigationId));
  };
  const connection = createRedis(opts.redis);
  const worker = startWorker(QUEUES.reports, process, {
    connection,
    prefix: opts.prefix,
    concurrency: 4,
    settings: { backoffStrategy: (attemptsMade: number) => Math.min(RETRY_FIRST_MS * 2 ** Math.max(0, attemptsMade - 1), RETRY_MAX_MS) },
  });
  worker.on('error', (err) => log.error({ err }, 'report worker error'));
  // A request made between the last look and the job's end found the job still there: queue it again.
  worker.on('completed', (job) => {
    const { investigationId, comparison } = StoreReportsJob.parse(job.data);
    void opts.requests
      .pending(investigationId)
      .then((again) => (again ? opts.requests.request({ investigationId, ...(comparison ? { comparison } : {}) }) : undefined))
      .catch((err: unknown) => log.warn({ err, investigation: investigationId }, 'could not queue the report again'));
  });
  worker.on('failed', (job, err) => log.warn({ err: err.message, investigation: job?.data, attempt: job?.attemptsMade }, 'report not stored; will retry'));
  return {
    async close() {
      await worker.close();
      await connection.quit();
    },
  };
}
