import type { Logger } from 'pino';
import { LateArtifactsJob, lateArtifactJobId } from '../../src/queue/jobs.ts';
import type { QUEUES, QueueOf } from '../../src/queue/queues.ts';
import type { ArtifactStore } from '../../src/storage/artifact-store.ts';
import { describeStorageError } from '../../src/storage/storage-errors.ts';
import type { ArtifactSpool } from './spool.ts';

export interface SpoolFlusher {
  /** One pass now (tests; start-up): true when the spool was emptied. */
  flush(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Kept long enough that a re-upload after a lost answer (same job id) is recognised as done; failed ones longer, to
 * be looked at.
 */
const LATE_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/**
 * Uploads spooled artifacts in the background, oldest first, and tells the orchestrator of each one stored (a
 * LateArtifactsJob). Every `intervalMs` while storage answers, backing off (doubling to `maxIntervalMs`) while it
 * does not. The first pass runs at once: entries left by a previous run are delivered as soon as storage is there.
 */
export function startSpoolFlusher(opts: {
  spool: ArtifactSpool;
  store: ArtifactStore;
  lateArtifacts: QueueOf<typeof QUEUES.lateArtifacts>;
  log: Logger;
  intervalMs?: number;
  maxIntervalMs?: number;
}): SpoolFlusher {
  const { spool, store, lateArtifacts, log } = opts;
  const interval = opts.intervalMs ?? 5000;
  const maxInterval = opts.maxIntervalMs ?? 60_000;
  const stopping = new AbortController();
  let delay = interval;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> | null = null;

  async function pass(): Promise<boolean> {
    for (const entry of spool.entries()) {
      if (stopping.signal.aborted) return false;
      const m = entry.manifest;
      let body: Buffer;
      try {
        body = await spool.read(entry);
      } catch {
        // Dropped to make room since entries() was taken.
        continue;
      }
      try {
        await store.put(m.key, body, m.contentType, { signal: stopping.signal });
      } catch (err) {
        if (!stopping.signal.aborted) {
          log.info({ err, waiting: spool.entries().length, bytes: spool.bytes }, `spooled artifacts wait: ${describeStorageError(err, 'upload')}`);
        }
        return false;
      }
      try {
        const job = LateArtifactsJob.parse({
          investigationId: m.investigationId,
          stepId: m.stepId,
          node: m.node,
          artifacts: [{ name: m.name, key: m.key, contentType: m.contentType, size: body.length }],
        });
        await lateArtifacts.add('late-artifacts', job, { jobId: lateArtifactJobId(m), ...LATE_JOB_OPTIONS });
      } catch (err) {
        // Stored but not announced: kept, so the next pass uploads it again (same key) and announces it then.
        log.warn({ err, investigation: m.investigationId, artifact: m.name }, 'could not announce a late artifact; will retry');
        return false;
      }
      await spool.remove(entry);
      log.info({ investigation: m.investigationId, step: m.stepId, artifact: m.name, since: m.since }, 'spooled artifact stored');
    }
    return true;
  }

  function flush(): Promise<boolean> {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  }

  function schedule(ms: number): void {
    if (stopping.signal.aborted) return;
    timer = setTimeout(() => {
      void flush().then(
        (emptied) => {
          delay = emptied ? interval : Math.min(delay * 2, maxInterval);
          schedule(delay);
        },
        (err: unknown) => {
          log.error({ err }, 'spool flush failed');
          delay = Math.min(delay * 2, maxInterval);
          schedule(delay);
        },
      );
    }, ms);
    // The spool is on disk: a process with nothing else to do may exit and retry on its next start.
    timer.unref();
  }

  // At once for what a previous run left, then on the timer.
  schedule(0);

  return {
    flush,
    async close() {
      stopping.abort();
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
