import { Redis, type RedisOptions } from 'ioredis';

/** BullMQ workers block on Redis, so they need maxRetriesPerRequest: null; plain clients share the same options. */
export function createRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra });
}
