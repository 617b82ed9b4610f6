import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { NodeRegistry } from '../../src/inventory/node-registry.ts';
import { RedisKeys } from '../../src/redis/keys.ts';

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
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly registry: NodeRegistry,
    private readonly captureQueue: (node: string) => Queue,
    private readonly log: Logger,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  private watchKey = (invId: string) => this.keys.watchedCaptures(invId);
  private lostKey = (jobId: string) => this.keys.lostCapture(jobId);
  private get watchedKey() {
    return this.keys.watchedInvestigations();
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

  /** Why each of these captures was given up on, in one round trip: only those given up on are in the map. */
  async lostReasons(jobIds: readonly string[]): Promise<Map<string, string>> {
    if (jobIds.length === 0) return new Map();
    const reasons = await this.redis.mget(jobIds.map(this.lostKey));
    return new Map(jobIds.flatMap((jobId, i) => (reasons[i] ? [[jobId, reasons[i]] as const] : [])));
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

  /**
   * Looks at every watched capture in a few round trips whatever their number (the watch lists, then the liveness
   * of their nodes); only a capture whose node is gone or whose deadline passed is looked at on its own. One that
   * ended meanwhile is left alone: its investigation collects it and forgets the list.
   */
  async sweep(now = Date.now()): Promise<void> {
    const invIds = await this.redis.smembers(this.watchedKey);
    if (invIds.length === 0) return;
    const read = this.redis.pipeline();
    for (const invId of invIds) read.hgetall(this.watchKey(invId));
    const lists = await read.exec();
    const watched: { invId: string; capture: WatchedCapture }[] = [];
    const empty: string[] = [];
    invIds.forEach((invId, i) => {
      const [err, entries] = lists?.[i] ?? [null, {}];
      if (err) throw err;
      const raws = Object.values(entries as Record<string, string>);
      if (raws.length === 0) empty.push(invId);
      for (const raw of raws) watched.push({ invId, capture: JSON.parse(raw) as WatchedCapture });
    });
    if (empty.length > 0) await this.redis.srem(this.watchedKey, ...empty);
    const live = await this.registry.liveAmong([...new Set(watched.map((w) => w.capture.node))]);
    for (const { invId, capture: c } of watched) {
      const alive = live.has(c.node);
      const reason = !alive
        ? `node ${c.node} stopped heartbeating during the capture (agent gone)`
        : now > c.deadline
          ? `capture on node ${c.node} did not finish by its deadline`
          : null;
      if (reason) await this.giveUp(invId, c, reason);
    }
  }

  /** Gives up on one capture, unless it ended meanwhile: records why and releases its investigation from it. */
  private async giveUp(invId: string, c: WatchedCapture, reason: string): Promise<void> {
    const job = await this.captureQueue(c.node).getJob(c.jobId);
    const state = job ? await job.getState() : 'unknown';
    if (!job || state === 'completed' || state === 'failed') {
      await this.redis.hdel(this.watchKey(invId), c.jobId);
      return;
    }
    this.log.warn({ investigation: invId, node: c.node, job: c.jobId, reason }, 'giving up on a capture');
    await this.redis.set(this.lostKey(c.jobId), reason, 'EX', 7 * 24 * 3600);
    await job.removeChildDependency().catch(() => undefined);
    // Not yet started: take it off the node's queue too, so an agent that comes back does not run it late.
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') await job.remove().catch(() => undefined);
    await this.redis.hdel(this.watchKey(invId), c.jobId);
  }
}
