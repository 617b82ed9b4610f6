import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotificationWorker } from '../../workers/orchestrator/notification-worker.ts';
import { LinkSigner } from '../../src/auth/signed-links.ts';
import { newInvestigationId } from '../../src/core/ids.ts';
import { createLogger } from '../../src/log.ts';
import { followUpLater } from '../../src/notify/follow-up.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { SlackApi } from '../../src/notify/slack-api.ts';
import { NotifyHosts, NotifyTargets } from '../../src/notify/targets.ts';
import { openQueue } from '../../src/queue/open.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { InvestigationRecords } from '../../src/records/investigation-records.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { startHookServer, type HookServer } from '../helpers/hook-server.ts';
import { blocksOf } from '../helpers/slack.ts';
import { startFakeSlackApi, type FakeSlackApi } from '../helpers/slack-api.ts';
import { testRedisUrl, uniquePrefix } from '../helpers/services.ts';

const TOKEN = 'xoxb-3333-4444-followuptestbottoken';

/**
 * A thread added to an investigation after it ended (its ack was still being posted when it failed, say) gets
 * the result all the same, once, even when the investigation's own final job already ran for an earlier target;
 * and a channel the bot may not post in is given up at once, not retried. Real Redis, BullMQ, HTTP.
 */
describe('thread follow-ups', () => {
  const prefix = uniquePrefix('follow');
  let redis: Redis;
  let queue: Queue;
  let records: InvestigationRecords;
  let targets: NotifyTargets;
  let notifier: Notifier;
  let hook: HookServer;
  let slack: FakeSlackApi;
  let worker: { close(): Promise<void> };

  beforeAll(async () => {
    hook = await startHookServer();
    slack = await startFakeSlackApi({ token: TOKEN });
    redis = createRedis(testRedisUrl());
    queue = openQueue(QUEUES.notifications, { connection: redis, prefix });
    records = new InvestigationRecords(redis, prefix);
    targets = new NotifyTargets(redis, prefix);
    notifier = new Notifier(targets, queue);
    const hosts = NotifyHosts.parse(`${hook.url},${slack.url}`);
    worker = startNotificationWorker({
      redis: testRedisUrl(),
      prefix,
      records,
      targets,
      links: new LinkSigner('follow-test-link-secret-0123456789abcdef', 'http://127.0.0.1:1', 3600),
      allowedHosts: hosts,
      slack: new SlackApi({ token: TOKEN, baseUrl: slack.apiUrl, hosts, timeoutMs: 2000 }),
      timeoutMs: 2000,
      log: createLogger('silent'),
    });
  });
  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    await redis?.quit();
    await hook?.close();
    await slack?.close();
  });

  const ended = async () => {
    const id = newInvestigationId();
    const now = new Date().toISOString();
    await records.create({ id, status: 'failed', reason: 'no live agent', playbook: 'enospc', params: {}, createdAt: now, finishedAt: now, requestedBy: 'slack:U0ALICE', steps: [], artifacts: [] });
    return id;
  };

  it('posts the result to a thread added after the investigation ended and after its final job ran', async () => {
    const id = await ended();
    await targets.add(id, { kind: 'slack-webhook', url: `${hook.url}/hook/${id}`, when: 'always' });
    await notifier.changed(id, 'final');
    await hook.waitFor(1, `/hook/${id}`);

    const thread = { kind: 'slack-thread' as const, channel: 'C0SRE', threadTs: '1700000500.000100' };
    await followUpLater({ notifyTargets: targets, records, notifier }, id, thread);
    const [reply] = await slack.waitForPosts(1, (c) => c.args.thread_ts === thread.threadTs);
    expect(reply!.args.channel).toBe('C0SRE');
    expect(blocksOf(reply!.args).text).toContain(id);
    // The orchestrator retrying its last step asks again: nothing is posted twice.
    await notifier.changed(id, 'final');
    await new Promise((r) => setTimeout(r, 700));
    expect(slack.posts().filter((c) => c.args.thread_ts === thread.threadTs)).toHaveLength(1);
    expect(hook.received.filter((r) => r.path === `/hook/${id}`)).toHaveLength(1);
  });

  it('gives up on a channel the bot is not in, without retrying, and still posts to the other targets', async () => {
    const id = await ended();
    slack.failNext('not_in_channel');
    const before = slack.calls.length;
    await targets.add(id, { kind: 'slack-thread', channel: 'C0PRIVATE', threadTs: '1700000600.000100' });
    await targets.add(id, { kind: 'slack-webhook', url: `${hook.url}/hook/${id}`, when: 'always' });
    await notifier.changed(id, 'final');
    await hook.waitFor(1, `/hook/${id}`);
    await new Promise((r) => setTimeout(r, 1500));
    expect(slack.calls.slice(before).filter((c) => c.args.channel === 'C0PRIVATE')).toHaveLength(1);
    expect((await queue.getJob(`${id}-final`))?.attemptsMade).toBe(1);
  });
});
