import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { NodeRegistry } from '../../src/inventory/node-registry.ts';

export interface WatchedCapture {
  jobId: string;
  node: string;
  /** Epoch ms after which the capture is overdue even if its node still heartbeats. */
  deadline: number;
}

/**
 * A parked investigation waits for its capture jobs, and a capture whose agent died would keep it waiting for
 * ever: no worker is left on that node's queue to notice. The watchdog notices instead — node gone from the
 * registry, or capture past its deadline — records why, and releases the parent from that child.
 */
export class CaptureWatchdog {
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly registry: NodeRegistry,
    private readonly captureQueue: (node: string) => Queue,
    private readonly log: Logger,
  ) {}

  private watchKey = (invId: string) => `${this.prefix}:watch:${invId}`;
  private lostKey = (jobId: string) => `${this.prefix}:lost:${jobId}`;
  private get watchedKey() {
    return `${this.prefix}:watched`;
  }

  async watch(invId: string, captures: WatchedCapture[]): Promise<void> {
    if (captures.length === 0) return;
    const fields = captures.flatMap((c) => [c.jobId, JSON.stringify(c)]);
    await this.redis.multi().hset(this.watchKey(invId), ...fields).sadd(this.watchedKey, invId).exec();
  }

  async forget(invId: string): Promise<void> {
    await this.redis.multi().del(this.watchKey(invId)).srem(this.watchedKey, invId).exec();
  }

  /** Why a capture was given up on, if it was. */
  async lostReason(jobId: string): Promise<string | null> {
    return this.redis.get(this.lostKey(jobId));
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.sweeping) return;
      this.sweeping = true;
      this.sweep()
        .catch((err: unknown) => this.log.warn({ err }, 'capture watchdog sweep failed'))
        .finally(() => (this.sweeping = false));
    }, intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async sweep(now = Date.now()): Promise<void> {
    for (const invId of await this.redis.smembers(this.watchedKey)) {
      const entries = await this.redis.hgetall(this.watchKey(invId));
      if (Object.keys(entries).length === 0) {
        await this.redis.srem(this.watchedKey, invId);
        continue;
      }
      for (const raw of Object.values(entries)) {
        const c = JSON.parse(raw) as WatchedCapture;
        const job = await this.captureQueue(c.node).getJob(c.jobId);
        const state = job ? await job.getState() : 'unknown';
        if (!job || state === 'completed' || state === 'failed') {
          await this.redis.hdel(this.watchKey(invId), c.jobId);
          continue;
        }
        const alive = (await this.registry.get(c.node)) !== null;
        const reason = !alive
          ? `node ${c.node} stopped heartbeating during the capture (agent gone)`
          : now > c.deadline
            ? `capture on node ${c.node} did not finish by its deadline`
            : null;
        if (!reason) continue;
        this.log.warn({ investigation: invId, node: c.node, job: c.jobId, reason }, 'giving up on a capture');
        await this.redis.set(this.lostKey(c.jobId), reason, 'EX', 7 * 24 * 3600);
        await job.removeChildDependency().catch(() => undefined);
        // Not yet started: take it off the node's queue too, so an agent that comes back does not run it late.
        if (state === 'waiting' || state === 'delayed' || state === 'prioritized') await job.remove().catch(() => undefined);
        await this.redis.hdel(this.watchKey(invId), c.jobId);
      }
    }
  }
}
