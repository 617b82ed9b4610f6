/**
 * The API: the Hono app over the one door, records, storage and the render pool, for whatever carries its requests
 * (a Node HTTP server, api-server.ts; AWS Lambda, lambda.ts).
 */
import { intakeDeps } from './intake.ts';
import { openRedisParts } from './redis-parts.ts';
import type { Services } from './services.ts';
import type { Logger } from 'pino';
import { createApp } from '../src/api/app.ts';
import { StreamSlots } from '../src/api/stream-slots.ts';
import type { AlertmanagerSettings, ApiDeps } from '../src/api/deps.ts';
import type { AlertRules } from '../src/alerts/rules.ts';
import type { TokenEntry } from '../src/auth/tokens.ts';
import { LinkSigner } from '../src/auth/signed-links.ts';
import type { Config } from '../src/config.ts';
import { InvestigationChanges } from '../src/records/investigation-changes.ts';
import { OnceKeys } from '../src/intake/once-keys.ts';
import { AlertThreads } from '../src/notify/alert-threads.ts';
import { slackApiOf } from '../src/notify/slack-api.ts';
import { NodeRegistry } from '../src/inventory/node-registry.ts';
import { createRedis } from '../src/redis/connection.ts';
import { RenderPool } from '../src/render/pool.ts';

function alertmanagerSettings(config: Config, rules: AlertRules | null): AlertmanagerSettings | null {
  if (!rules) return null;
  const basic = config.ALERTMANAGER_BASIC_AUTH;
  const colon = basic?.indexOf(':') ?? -1;
  return {
    rules,
    ...(config.ALERTMANAGER_BEARER_TOKEN ? { bearerToken: config.ALERTMANAGER_BEARER_TOKEN } : {}),
    ...(basic ? { basicAuth: { username: basic.slice(0, colon), password: basic.slice(colon + 1) } } : {}),
    ...(config.ALERT_SLACK_WEBHOOK_URL ? { slackWebhookUrl: config.ALERT_SLACK_WEBHOOK_URL } : {}),
    ...(config.ALERT_SLACK_CHANNEL ? { slackChannel: config.ALERT_SLACK_CHANNEL } : {}),
  };
}


export interface ComposedApi {
  app: ReturnType<typeof createApp>;
  deps: ApiDeps;
  /** Ends event streams and render threads: first, since open streams would hold a server open. */
  closeStreams(): Promise<void>;
  /** Then the Redis connections and queues. */
  closeConnections(): Promise<void>;
}

/**
 * The Hono app over its parts, for whatever carries its requests: a Node HTTP server (startApi) or AWS Lambda
 * (entry/lambda.ts). `publicUrl` is asked each time a link is made: a server knows it only once it listens.
 */
export async function composeApi(
  config: Config,
  services: Services,
  log: Logger,
  opts: {
    tokens: readonly TokenEntry[];
    publicUrl: () => string;
    carrier: ApiDeps['carrier'];
    /** Whether responses can stream (SSE): not through API Gateway or ALB, which buffer a function's whole answer. */
    streaming: boolean;
  },
): Promise<ComposedApi> {
  const apiLog = log.child({ part: 'api' });
  const parts = openRedisParts(config, services, apiLog);
  const { redis, records, audit, investigations, notifyTargets } = parts;
  // Its own subscribed connection, opened only where someone can listen.
  const changes = opts.streaming ? await InvestigationChanges.start(createRedis(services.redis), records.changeChannel) : null;
  const deps: ApiDeps = {
    changes,
    registry: new NodeRegistry(redis, config.QUEUE_PREFIX),
    store: services.store,
    pingRedis: async () => {
      await redis.ping();
    },
    log: apiLog,
    intake: intakeDeps(config, services, redis, { records, investigations, audit, notifyTargets }, apiLog, true),
    auth: { tokens: opts.tokens, linkSecret: services.linkSecret },
    notifier: parts.notifier,
    notifyHosts: config.NOTIFY_URL_HOSTS,
    links: new LinkSigner(services.linkSecret, opts.publicUrl, config.LINK_TTL / 1000),
    schedules: parts.schedules,
    scheduleMinIntervalMs: config.SCHEDULE_MIN_INTERVAL,
    once: new OnceKeys(redis, config.QUEUE_PREFIX),
    slack:
      config.SLACK_SIGNING_SECRET || config.MATTERMOST_COMMAND_TOKEN
        ? {
            ...(config.SLACK_SIGNING_SECRET ? { signingSecret: config.SLACK_SIGNING_SECRET } : {}),
            ...(config.MATTERMOST_COMMAND_TOKEN ? { mattermostToken: config.MATTERMOST_COMMAND_TOKEN } : {}),
            rules: services.access.slack.rules,
          }
        : null,
    slackApi: slackApiOf(config),
    alertThreads: new AlertThreads(redis, config.QUEUE_PREFIX),
    alertmanager: alertmanagerSettings(config, services.alertRules),
    render: new RenderPool({ size: config.RENDER_POOL_SIZE, maxQueue: config.RENDER_QUEUE_MAX, log: apiLog }),
    streams: new StreamSlots({ perIdentity: config.SSE_MAX_PER_IDENTITY, total: config.SSE_MAX_STREAMS }),
    limits: { apiBody: config.API_BODY_LIMIT, chatopsBody: config.CHATOPS_BODY_LIMIT, renderInput: config.RENDER_MAX_INPUT },
    carrier: opts.carrier,
  };
  return {
    app: createApp(deps),
    deps,
    closeStreams: async () => {
      await changes?.close();
      await deps.render.close();
    },
    closeConnections: () => parts.close(),
  };
}
