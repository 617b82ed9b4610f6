import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AuditLog } from '../src/audit/audit-log.ts';
import type { Config } from '../src/config.ts';
import { Notifier } from '../src/notify/notifier.ts';
import { NotifyTargets } from '../src/notify/targets.ts';
import { openProducer } from '../src/queue/producer.ts';
import { QUEUES, type ProducerOf } from '../src/queue/queues.ts';
import { InvestigationRecords } from '../src/records/investigation-records.ts';
import { createRedis } from '../src/redis/connection.ts';
import { ScheduleStore } from '../src/schedules/schedule-store.ts';
import type { Services } from './services.ts';

/**
 * The Redis-backed parts both the API and the orchestrator process work with: one connection, the queues they add
 * to, the records, the audit trail, notify targets and schedules. Built here once per process, so the two entry
 * points cannot drift in how they build them.
 */
export interface RedisParts {
  redis: Redis;
  investigations: ProducerOf<typeof QUEUES.investigations>;
  schedulesQueue: ProducerOf<typeof QUEUES.schedules>;
  notificationsQueue: ProducerOf<typeof QUEUES.notifications>;
  records: InvestigationRecords;
  audit: AuditLog;
  notifyTargets: NotifyTargets;
  notifier: Notifier;
  schedules: ScheduleStore;
  close(): Promise<void>;
}

export function openRedisParts(config: Config, services: Services, auditLog: Logger): RedisParts {
  const redis = createRedis(services.redis);
  const onRedis = { connection: redis, prefix: config.QUEUE_PREFIX };
  const investigations = openProducer(QUEUES.investigations, onRedis);
  const schedulesQueue = openProducer(QUEUES.schedules, onRedis);
  const notificationsQueue = openProducer(QUEUES.notifications, onRedis);
  const notifyTargets = new NotifyTargets(redis, config.QUEUE_PREFIX);
  return {
    redis,
    investigations,
    schedulesQueue,
    notificationsQueue,
    records: new InvestigationRecords(redis, config.QUEUE_PREFIX),
    audit: new AuditLog(redis, config.QUEUE_PREFIX, auditLog),
    notifyTargets,
    notifier: new Notifier(notifyTargets, notificationsQueue),
    schedules: new ScheduleStore(redis, config.QUEUE_PREFIX, schedulesQueue),
    close: async () => {
      await Promise.all([investigations.close(), schedulesQueue.close(), notificationsQueue.close()]);
      await redis.quit();
    },
  };
}
