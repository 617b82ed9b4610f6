import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitedError } from '../core/errors.ts';
import { RedisKeys } from '../redis/keys.ts';

/**
 * Investigations started per requester per window, counted in Redis so every API replica shares the budget.
 * Each investigation costs captures on real nodes, so a loop in a script or a noisy alert must not flood the fleet.
 */
export class RequesterRateLimiter {
  private readonly limiter: RateLimiterRedis;

  constructor(redis: Redis, prefix: string, readonly limit: { points: number; windowMs: number }) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: new RedisKeys(prefix).rateLimit(),
      points: limit.points,
      duration: Math.max(1, Math.round(limit.windowMs / 1000)),
    });
  }

  /** Takes one from the requester's budget, or throws RateLimitedError saying when to retry. */
  async take(requester: string): Promise<void> {
    try {
      await this.limiter.consume(requester, 1);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        const retry = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        throw new RateLimitedError(`${requester} started ${this.limit.points} investigations in the last ${Math.round(this.limit.windowMs / 1000)} s; retry in ${retry} s`, retry);
      }
      throw err;
    }
  }
}
