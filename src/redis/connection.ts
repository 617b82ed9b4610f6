import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * Where Redis is, and whether it speaks the cluster protocol: ElastiCache Serverless and MemoryDB accept only
 * cluster-mode clients (REDIS_CLUSTER=true); a plain URL string is a standalone server.
 */
export interface RedisEndpoint {
  url: string;
  cluster: boolean;
}
export type RedisTarget = RedisEndpoint | string;

/**
 * A connection to `target`. BullMQ workers block on Redis, so they need maxRetriesPerRequest: null; plain clients
 * share the same options.
 *
 * In cluster mode every key tracehound and BullMQ use carries QUEUE_PREFIX's hash tag (config.ts requires one), so
 * they all live in one slot: transactions, scripts and pipelines work as on a single server, and the commands this
 * code sends are the same. The cluster client is returned under the standalone client's type for that reason; the
 * two share their command interface, and test/e2e/redis-cluster.test.ts runs a whole investigation through one.
 */
export function createRedis(target: RedisTarget, extra: RedisOptions = {}): Redis {
  const { url, cluster } = typeof target === 'string' ? { url: target, cluster: false } : target;
  const options: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra };
  if (!cluster) return new Redis(url, options);
  const u = new URL(url);
  const client = new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], {
    // ElastiCache's TLS certificate names the endpoint it was asked for, not the node addresses the cluster hands out.
    dnsLookup: (address, callback) => callback(null, address),
    enableReadyCheck: true,
    redisOptions: {
      ...options,
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  });
  return client as unknown as Redis;
}
