import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newInvestigationId } from '../../src/core/ids.ts';
import { followUpLater } from '../../src/notify/follow-up.ts';
import { startHookServer, type HookServer } from '../helpers/hook-server.ts';
import { startNotificationHarness, type NotificationHarness } from '../helpers/notification-worker.ts';
import { blocksOf } from '../helpers/slack.ts';
import { startFakeSlackApi, type FakeSlackApi } from '../helpers/slack-api.ts';

const TOKEN = 'xoxb-3333-4444-followuptestbottoken';

/**
 * A thread added to an investigation after it ended (its ack was still being posted when it failed, say) gets
 * the result all the same, once, even when the investigation's own final job already ran for an earlier target;
 * and a channel the bot may not post in is given up at once, not retried. Real Redis, BullMQ, HTTP.
 */
describe('thread follow-ups', () => {
  let n: NotificationHarness;
  let hook: HookServer;
  let slack: FakeSlackApi;

  beforeAll(async () => {
    hook = await startHookServer();
    slack = await startFakeSlackApi({ token: TOKEN });
    n = startNotificationHarness('follow', { allowedHosts: `${hook.url},${slack.url}`, timeoutMs: 2000, slack: { apiUrl: slack.apiUrl, token: TOKEN } });
  });
  afterAll(async () => {
    await n?.close();
    await hook?.close();
    await slack?.close();
  });

  const ended = async () => {
    const id = newInvestigationId();
    const now = new Date().toISOString();
    await n.records.create({ id, status: 'failed', reason: 'no live agent', playbook: 'enospc', params: {}, createdAt: now, finishedAt: now, requestedBy: 'slack:U0ALICE', steps: [], artifacts: [] });
    return id;
  };

  it('posts the result to a thread added after the investigation ended and after its final job ran', async () => {
    const id = await ended();
    await n.targets.add(id, { kind: 'slack-webhook', url: `${hook.url}/hook/${id}`, when: 'always' });
    await n.notifier.changed(id, 'final');
    await hook.waitFor(1, `/hook/${id}`);

    const thread = { kind: 'slack-thread' as const, channel: 'C0SRE', threadTs: '1700000500.000100' };
    await followUpLater({ notifyTargets: n.targets, records: n.records, notifier: n.notifier }, id, thread);
    const [reply] = await slack.waitForPosts(1, (c) => c.args.thread_ts === thread.threadTs);
    expect(reply!.args.channel).toBe('C0SRE');
    expect(blocksOf(reply!.args).text).toContain(id);
    // The orchestrator retrying its last step asks again: nothing is posted twice.
    await n.notifier.changed(id, 'final');
    await new Promise((r) => setTimeout(r, 700));
    expect(slack.posts().filter((c) => c.args.thread_ts === thread.threadTs)).toHaveLength(1);
    expect(hook.received.filter((r) => r.path === `/hook/${id}`)).toHaveLength(1);
  });

  it('gives up on a channel the bot is not in, without retrying, and still posts to the other targets', async () => {
    const id = await ended();
    slack.failNext('not_in_channel');
    const before = slack.calls.length;
    await n.targets.add(id, { kind: 'slack-thread', channel: 'C0PRIVATE', threadTs: '1700000600.000100' });
    await n.targets.add(id, { kind: 'slack-webhook', url: `${hook.url}/hook/${id}`, when: 'always' });
    await n.notifier.changed(id, 'final');
    await hook.waitFor(1, `/hook/${id}`);
    await new Promise((r) => setTimeout(r, 1500));
    expect(slack.calls.slice(before).filter((c) => c.args.channel === 'C0PRIVATE')).toHaveLength(1);
    expect((await n.queue.getJob(`${id}-final`))?.attemptsMade).toBe(1);
  });
});
