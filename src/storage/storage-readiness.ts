import type { Logger } from 'pino';
import type { ArtifactStore } from './artifact-store.ts';
import { describeStorageError } from './storage-errors.ts';

export interface StorageReadinessOptions {
  store: ArtifactStore;
  /** Where storage is, for the log ("http://minio:9000"). */
  endpoint: string;
  log: Logger;
  /** Bound of one try (bucket check and creation): one S3 attempt's worth, so a hung server is reported promptly. */
  attemptTimeoutMs: number;
  /** Delay before the second try; it doubles up to `maxRetryMs`. */
  firstRetryMs?: number;
  maxRetryMs?: number;
  /** The "not reachable" line is repeated at most this often. */
  logEveryMs?: number;
}

/**
 * Object storage is ready when it first answers, and its bucket is created then. Start-up does not wait for it:
 * a hung or absent S3 must not hang the API (its /readyz says why) or the agent (it spools what it cannot store).
 */
export class StorageReadiness {
  private readyAt: Date | null = null;
  private lastReason: string | null = null;
  private lastLoggedAt = -Infinity;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private settle!: { resolve(): void; reject(err: Error): void };
  private readonly ready = new Promise<void>((resolve, reject) => {
    this.settle = { resolve, reject };
  });

  constructor(private readonly opts: StorageReadinessOptions) {
    // Nobody may be waiting when it is stopped before ready: that rejection is for waiters only.
    this.ready.catch(() => undefined);
  }

  /** Starts trying in the background; returns at once. */
  start(): this {
    void this.attempt(this.opts.firstRetryMs ?? 1000);
    return this;
  }

  /** Resolves once storage has answered and the bucket exists; rejects if stopped before. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  get isReady(): boolean {
    return this.readyAt !== null;
  }

  /** Why storage is not ready yet, in words (null before the first try ends, and once ready). */
  get reason(): string | null {
    return this.isReady ? null : this.lastReason;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.isReady) this.settle.reject(new Error('stopped before object storage became ready'));
  }

  private async attempt(nextDelayMs: number): Promise<void> {
    if (this.stopped) return;
    const { store, endpoint, log } = this.opts;
    try {
      await store.ensureBucket({ signal: AbortSignal.timeout(this.opts.attemptTimeoutMs) });
    } catch (err) {
      if (this.stopped) return;
      this.lastReason = describeStorageError(err);
      const now = performance.now();
      if (now - this.lastLoggedAt >= (this.opts.logEveryMs ?? 30_000)) {
        this.lastLoggedAt = now;
        log.warn({ err, endpoint, bucket: store.bucket }, `object storage not reachable at ${endpoint}: ${this.lastReason}; retrying`);
      }
      this.timer = setTimeout(() => void this.attempt(Math.min(nextDelayMs * 2, this.opts.maxRetryMs ?? 15_000)), nextDelayMs);
      // A process that has nothing else to do should not be kept alive by this alone.
      this.timer.unref();
      return;
    }
    if (this.stopped) return;
    this.readyAt = new Date();
    if (this.lastReason !== null) log.info({ endpoint, bucket: store.bucket }, `object storage reachable at ${endpoint} again; bucket ready`);
    this.settle.resolve();
  }
}
