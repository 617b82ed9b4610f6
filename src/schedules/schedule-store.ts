import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { QUEUES, ProducerOf } from '../queue/queues.ts';
import { RedisKeys } from '../redis/keys.ts';
import { Schedule } from './schedule.ts';

/** The name of each job a schedule's job scheduler makes (shown by BullMQ tools; the queue says what it is). */
const FIRE_JOB_NAME = 'fire';

/** A schedule as the API shows it: with its next firing and its latest investigation's id. */
export const ScheduleView = Schedule.extend({ nextRunAt: z.string().nullable(), lastInvestigation: z.string().nullable() });
export type ScheduleView = z.infer<typeof ScheduleView>;

/**
 * Schedules live in Redis twice over: the definition (a hash entry, what the API shows and a firing starts) and a
 * BullMQ job scheduler that produces one `fire` job per tick. Both survive restarts of every part.
 */
export class ScheduleStore {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly queue: ProducerOf<typeof QUEUES.schedules>,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  private get key() {
    return this.keys.schedules();
  }
  private runsKey = (name: string) => this.keys.scheduleRuns(name);

  async upsert(s: Schedule): Promise<void> {
    await this.redis.hset(this.key, s.name, JSON.stringify(Schedule.parse(s)));
    const repeat = s.cron !== undefined ? { pattern: s.cron, ...(s.timezone ? { tz: s.timezone } : {}) } : { every: s.every! };
    await this.queue.upsertJobScheduler(s.name, repeat, {
      name: FIRE_JOB_NAME,
      data: { schedule: s.name },
      opts: { removeOnComplete: 100, removeOnFail: 100 },
    });
  }

  async get(name: string): Promise<Schedule | null> {
    const raw = await this.redis.hget(this.key, name);
    return raw === null ? null : Schedule.parse(JSON.parse(raw));
  }

  async remove(name: string): Promise<boolean> {
    const removed = await this.redis.hdel(this.key, name);
    await this.queue.removeJobScheduler(name);
    return removed === 1;
  }

  async list(): Promise<ScheduleView[]> {
    const all = await this.redis.hgetall(this.key);
    const views = await Promise.all(Object.values(all).map((raw) => this.view(Schedule.parse(JSON.parse(raw)))));
    return views.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A schedule with its next firing (from its job scheduler) and its latest investigation. */
  async view(s: Schedule): Promise<ScheduleView> {
    const [sched, last] = await Promise.all([this.queue.getJobScheduler(s.name), this.redis.zrevrange(this.runsKey(s.name), 0, 0)]);
    return { ...s, nextRunAt: sched?.next ? new Date(sched.next).toISOString() : null, lastInvestigation: last[0] ?? null };
  }

  async recordRun(name: string, investigationId: string): Promise<void> {
    await this.redis.zadd(this.runsKey(name), Date.now(), investigationId);
    // Comparison needs a few recent runs, not the whole history.
    await this.redis.zremrangebyrank(this.runsKey(name), 0, -101);
  }

  /** Ids of the schedule's runs before `beforeId`, newest first. */
  async previousRuns(name: string, beforeId: string, n: number): Promise<string[]> {
    const ids = await this.redis.zrevrange(this.runsKey(name), 0, 99);
    return ids.filter((id) => id < beforeId).slice(0, n);
  }
}
