import type { Redis } from 'ioredis';
import { RedisKeys } from '../redis/keys.ts';

/**
 * At-least-once deliveries (Slack retries, Alertmanager HA pairs) must act once. `claim` wins for exactly one
 * caller per key within the TTL; `release` gives the key back when acting failed, so a retry may act.
 */
export class OnceKeys {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  private key = (ns: string, k: string) => this.keys.once(ns, k);

  async claim(ns: string, k: string, ttlSec: number, value = 'pending'): Promise<boolean> {
    return (await this.redis.set(this.key(ns, k), value, 'EX', ttlSec, 'NX')) === 'OK';
  }

  async get(ns: string, k: string): Promise<string | null> {
    return this.redis.get(this.key(ns, k));
  }

  async set(ns: string, k: string, value: string, ttlSec: number): Promise<void> {
    await this.redis.set(this.key(ns, k), value, 'EX', ttlSec);
  }

  async release(ns: string, k: string): Promise<void> {
    await this.redis.del(this.key(ns, k));
  }
}
