import type { Logger } from 'pino';
import type { LinkSigner } from '../../src/auth/signed-links.ts';
import { messageLinks } from '../../src/notify/links.ts';
import { finalMessage, progressMessage } from '../../src/chatops/blocks.ts';
import { isTerminal, type Investigation } from '../../src/core/investigation.ts';
import { notificationsPosted } from '../../src/metrics.ts';
import { isPermanent, NotifyPostError, postNotification } from '../../src/notify/post.ts';
import type { SlackApi } from '../../src/notify/slack-api.ts';
import type { NotifyHost, NotifyTarget, NotifyTargets } from '../../src/notify/targets.ts';
import { createRedis, type RedisTarget } from '../../src/redis/connection.ts';
import type { NotifyJob } from '../../src/queue/jobs.ts';
import { startWorker } from '../../src/queue/open.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import type { InvestigationRecords } from '../../src/records/investigation-records.ts';

/** Slack accepts 5 posts per response_url; progress may use 4 so the final result always has its post. */
export const RESPONSE_URL_POSTS = 5;

const hasProblems = (inv: Investigation) => inv.status !== 'succeeded' || (inv.summary?.findings ?? []).some((f) => f.severity !== 'info');

/** Posts investigation progress and results to Slack (response_url, incoming webhooks, threads), with retries. */
export function startNotificationWorker(opts: {
  redis: RedisTarget;
  prefix: string;
  records: InvestigationRecords;
  targets: NotifyTargets;
  links: LinkSigner;
  allowedHosts: readonly NotifyHost[];
  /** Slack's Web API with the bot token (SLACK_BOT_TOKEN): replies in threads. Absent without a token. */
  slack?: SlackApi | null;
  /** Most one post may take (NOTIFY_TIMEOUT); a slower target is a failed post, retried like any other. */
  timeoutMs: number;
  log: Logger;
}): { close(): Promise<void> } {
  const log = opts.log.child({ part: 'notifications' });
  const deliver = async (t: NotifyTarget, message: { text: string; blocks?: readonly unknown[] }): Promise<void> => {
    if (t.kind !== 'slack-thread') {
      // Checked here, not only where the URL came in: NOTIFY_URL_HOSTS may have narrowed since it was stored.
      await postNotification(t.url, message, { hosts: opts.allowedHosts, timeoutMs: opts.timeoutMs });
      return;
    }
    if (!opts.slack) throw new NotifyPostError('refused', 'a thread reply needs SLACK_BOT_TOKEN, which this orchestrator does not have');
    // chat.postMessage takes text and blocks; response_type and replace_original belong to response_url.
    await opts.slack.postMessage(t.channel, { text: message.text, ...(message.blocks ? { blocks: message.blocks } : {}) }, t.threadTs);
  };

  /**
   * Posts one message; false when it never can be (a URL not allowed, a channel the bot is not in: logged and
   * skipped, since retrying cannot change that and the investigation's other targets still get theirs). Any other
   * failure throws, so BullMQ retries the job.
   */
  const post = async (t: NotifyTarget, message: { text: string; blocks?: readonly unknown[] }, id: string): Promise<boolean> => {
    try {
      await deliver(t, message);
    } catch (err) {
      if (!(err instanceof NotifyPostError)) throw err;
      notificationsPosted.inc({ kind: t.kind, result: err.result });
      if (!isPermanent(err)) throw err;
      log.warn({ investigation: id, kind: t.kind, reason: err.message }, 'not posting: this target can never take it');
      return false;
    }
    notificationsPosted.inc({ kind: t.kind, result: 'ok' });
    return true;
  };

  const process = async ({ id, event }: NotifyJob) => {
    const inv = await opts.records.find(id);
    if (!inv) return;
    const targets = await opts.targets.list(id);
    const final = event === 'final' && isTerminal(inv.status);
    for (const [i, t] of targets.entries()) {
      if (final) {
        if ((await opts.targets.posts(id, i)) >= RESPONSE_URL_POSTS && t.kind === 'slack-response-url') continue;
        if (t.kind === 'slack-webhook' && t.when === 'problems' && !hasProblems(inv)) continue;
        if (!(await opts.targets.markFinal(id, i))) continue;
        let posted: boolean;
        try {
          posted = await post(t, finalMessage(inv, messageLinks(inv, opts.links)), id);
        } catch (err) {
          await opts.targets.unmarkFinal(id, i);
          throw err;
        }
        if (posted) await opts.targets.countPost(id, i);
      } else if (t.kind === 'slack-response-url' && !isTerminal(inv.status)) {
        if ((await opts.targets.countPost(id, i)) >= RESPONSE_URL_POSTS - 1) continue;
        await post(t, progressMessage(inv), id);
      }
    }
  };

  const connection = createRedis(opts.redis);
  const worker = startWorker(QUEUES.notifications, process, { connection, prefix: opts.prefix, concurrency: 8 });
  worker.on('error', (err) => log.error({ err }, 'notification worker error'));
  worker.on('failed', (job, err) => log.warn({ err: err.message, job: job?.data, attempt: job?.attemptsMade }, 'notification failed'));
  return {
    async close() {
      await worker.close();
      await connection.quit();
    },
  };
}
