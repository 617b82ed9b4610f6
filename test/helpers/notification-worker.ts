import type { Queue } from 'bullmq';
import { LinkSigner } from '../../src/auth/signed-links.ts';
import { createLogger } from '../../src/log.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { SlackApi } from '../../src/notify/slack-api.ts';
import { NotifyHosts, NotifyTargets } from '../../src/notify/targets.ts';
import { openQueue } from '../../src/queue/open.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { InvestigationRecords } from '../../src/records/investigation-records.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { startNotificationWorker } from '../../workers/orchestrator/notification-worker.ts';
import { testRedisUrl, uniquePrefix } from './services.ts';

/** What a test drives the worker through: it writes records and targets, and the notifier queues the messages. */
export interface NotificationHarness {
  /** The notifications queue, to read a job back (`${id}-final`) and its attempts. */
  queue: Queue;
  records: InvestigationRecords;
  targets: NotifyTargets;
  notifier: Notifier;
  /** Stops the worker, then closes the queue and Redis. */
  close(): Promise<void>;
}

/**
 * The orchestrator's notification worker on the run's real Redis and BullMQ, under a prefix of its own, as
 * entry/orchestrator.ts starts it: posting only to `allowedHosts` (NOTIFY_URL_HOSTS syntax), giving up on a post
 * after `timeoutMs`, and replying in Slack threads through `slack` (the fake Web API's URL and bot token) when given.
 */
export function startNotificationHarness(label: string, opts: { allowedHosts: string; timeoutMs: number; slack?: { apiUrl: string; token: string } }): NotificationHarness {
  const prefix = uniquePrefix(label);
  const redis = createRedis(testRedisUrl());
  const queue = openQueue(QUEUES.notifications, { connection: redis, prefix });
  const records = new InvestigationRecords(redis, prefix);
  const targets = new NotifyTargets(redis, prefix);
  const hosts = NotifyHosts.parse(opts.allowedHosts);
  const worker = startNotificationWorker({
    redis: testRedisUrl(),
    prefix,
    records,
    targets,
    // Links in the messages point nowhere: no test follows them.
    links: new LinkSigner('notification-test-link-secret-0123456789abcdef', 'http://127.0.0.1:1', 3600),
    allowedHosts: hosts,
    ...(opts.slack ? { slack: new SlackApi({ token: opts.slack.token, baseUrl: opts.slack.apiUrl, hosts, timeoutMs: opts.timeoutMs }) } : {}),
    timeoutMs: opts.timeoutMs,
    log: createLogger('silent'),
  });
  return {
    queue,
    records,
    targets,
    notifier: new Notifier(targets, queue),
    close: async () => {
      await worker.close();
      await queue.close();
      await redis.quit();
    },
  };
}
