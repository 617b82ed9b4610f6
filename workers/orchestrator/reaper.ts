import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isTerminal, type Investigation } from '../../src/core/investigation.ts';
import type { InvestigationRecords } from '../../src/records/investigation-records.ts';
import { RedisKeys } from '../../src/redis/keys.ts';
import { deadlineReason } from './deadline.ts';

/** BullMQ's reason for a job whose worker died holding it more often than the queue allows. */
const STALLED = 'job stalled more than allowable limit';

/** Why an investigation whose job failed ended, in words (a stalled job is an orchestrator killed while working on it). */
export function lostReason(failedReason: string | undefined): string {
  if (failedReason === STALLED) return 'the orchestrator lost this investigation: it stopped twice while working on it';
  return `orchestrator error: ${failedReason || 'its job failed without a reason'}`;
}

/** Intake writes the record, then queues its job: a record this young may not have its job yet. */
const JOB_GRACE_MS = 30_000;

/**
 * A record is ended this long before its deadline, so that it HAS ended by then: ending (summary, record, cancel)
 * takes well under this. The deadline's own finish allowance (deadline.ts) is far larger, so no run that could still
 * end by itself is cut short by it.
 */
export const END_AHEAD_MS = 2_000;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Ends what would otherwise stay queued or running for ever: records whose BullMQ job is gone or failed (its
 * orchestrator died, Redis lost it) and records past their deadline. One orchestrator sweeps at a time (a lock);
 * ending is a compare-and-set on the record, so a sweep racing the investigation's own run or another
 * orchestrator ends it once.
 */
export class Reaper {
  private timer: NodeJS.Timeout | null = null;
  /** A one-shot sweep armed for a deadline that falls between two regular ones. */
  private precise: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> | null = null;
  private intervalMs = 5_000;
  /** Earliest time a record seen in the last sweep is due to be ended (its deadline less END_AHEAD_MS). */
  private nextDue = Infinity;

  constructor(
    private readonly deps: {
      redis: Redis;
      prefix: string;
      records: InvestigationRecords;
      investigations: Queue;
      /** Ends a record not ended yet with `reason`; false when it had ended meanwhile. */
      end(id: string, reason: string): Promise<boolean>;
      log: Logger;
    },
  ) {}

  private get lockKey() {
    return new RedisKeys(this.deps.prefix).reaperLock();
  }

  start(intervalMs: number): void {
    this.intervalMs = intervalMs;
    this.timer = setInterval(() => this.trigger(), intervalMs);
  }

  private trigger(): void {
    if (this.sweeping || !this.timer) return;
    this.sweeping = this.sweep(Date.now(), this.intervalMs * 6)
      .catch((err: unknown) => this.deps.log.warn({ err }, 'reaper sweep failed'))
      .finally(() => {
        this.sweeping = null;
        this.armForNextDue();
      });
  }

  /** The regular tick may come up to an interval late for a deadline: a one-shot sweep is armed for it instead. */
  private armForNextDue(): void {
    if (this.precise) clearTimeout(this.precise);
    this.precise = null;
    const wait = this.nextDue - Date.now();
    if (!this.timer || !Number.isFinite(wait) || wait >= this.intervalMs) return;
    this.precise = setTimeout(() => this.trigger(), Math.max(0, wait));
  }

  /** Stops the timers and waits for a sweep under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.precise) clearTimeout(this.precise);
    await this.sweeping;
  }

  /** One pass; returns the ids it ended (none when another orchestrator holds the sweep). */
  async sweep(now = Date.now(), lockMs = 30_000): Promise<string[]> {
    const { redis, records } = this.deps;
    const token = randomUUID();
    if ((await redis.set(this.lockKey, token, 'PX', lockMs, 'NX')) !== 'OK') return [];
    const ended: string[] = [];
    this.nextDue = Infinity;
    try {
      for (const id of await records.activeIds()) {
        const inv = await records.find(id);
        if (!inv || isTerminal(inv.status)) {
          await records.forgetActive(id);
          continue;
        }
        const reason = await this.why(inv, now);
        if (!reason) {
          if (inv.deadline) this.nextDue = Math.min(this.nextDue, Date.parse(inv.deadline) - END_AHEAD_MS);
          continue;
        }
        this.deps.log.warn({ investigation: id, reason }, 'reaping an investigation');
        if (await this.deps.end(id, reason)) ended.push(id);
      }
    } finally {
      await redis.eval(RELEASE, 1, this.lockKey, token);
    }
    return ended;
  }

  private async why(inv: Investigation, now: number): Promise<string | null> {
    const job = await this.deps.investigations.getJob(inv.id);
    const state = job ? await job.getState() : 'unknown';
    if (job && state === 'failed') return lostReason(job.failedReason);
    // Completed with the record not ended, or gone: nothing will ever write this record again.
    if (state === 'unknown' || state === 'completed') {
      if (now - Date.parse(inv.createdAt) < JOB_GRACE_MS) return null;
      return inv.status === 'queued'
        ? 'never started: its job is no longer in the queue (Redis lost it, or it was removed)'
        : 'the orchestrator lost this investigation: its job is no longer in the queue (Redis lost it, or it was removed)';
    }
    if (inv.deadline && now >= Date.parse(inv.deadline) - END_AHEAD_MS) return deadlineReason(inv);
    return null;
  }
}
