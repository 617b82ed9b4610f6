/** The API process: the Hono app over the one door, records, storage and the render pool. */
import { intakeDeps, publicBaseUrl } from './intake.ts';
import { openRedisParts } from './redis-parts.ts';
import type { Services } from './services.ts';
import { resolve } from 'node:path';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { createApp } from '../src/api/app.ts';
import { StreamSlots } from '../src/api/stream-slots.ts';
import type { AlertmanagerSettings, ApiDeps } from '../src/api/deps.ts';
import type { AlertRules } from '../src/alerts/rules.ts';
import { apiTokens } from '../src/auth/bootstrap.ts';
import { LinkSigner } from '../src/auth/signed-links.ts';
import type { Config } from '../src/config.ts';
import { InvestigationChanges } from '../src/records/investigation-changes.ts';
import { OnceKeys } from '../src/intake/once-keys.ts';
import { NodeRegistry } from '../src/inventory/node-registry.ts';
import { createRedis } from '../src/redis/connection.ts';
import { RenderPool } from '../src/render/pool.ts';
import type { Stoppable } from '../src/stoppable.ts';

function alertmanagerSettings(config: Config, rules: AlertRules | null): AlertmanagerSettings | null {
  if (!rules) return null;
  const basic = config.ALERTMANAGER_BASIC_AUTH;
  const colon = basic?.indexOf(':') ?? -1;
  return {
    rules,
    ...(config.ALERTMANAGER_BEARER_TOKEN ? { bearerToken: config.ALERTMANAGER_BEARER_TOKEN } : {}),
    ...(basic ? { basicAuth: { username: basic.slice(0, colon), password: basic.slice(colon + 1) } } : {}),
    ...(config.ALERT_SLACK_WEBHOOK_URL ? { slackWebhookUrl: config.ALERT_SLACK_WEBHOOK_URL } : {}),
  };
}


export async function startApi(
  config: Config,
  services: Services,
  log: Logger,
): Promise<Stoppable & { url: string; routes: { method: string; path: string }[]; generatedToken?: { token: string; file: string } }> {
  const tokens = await apiTokens(services.access, config.HOST, resolve(config.DATA_DIR));
  const apiLog = log.child({ part: 'api' });
  const parts = openRedisParts(config, services, apiLog);
  const { redis, records, audit, investigations, notifyTargets } = parts;
  const changes = await InvestigationChanges.start(createRedis(services.redisUrl), records.changeChannel);
  // Links point at the public URL, known only once the server listens (PORT=0 in tests): the signer asks for it.
  const listening: { url?: string } = {};
  const links = new LinkSigner(services.linkSecret, () => publicBaseUrl(config, listening.url), config.LINK_TTL / 1000);
  const deps: ApiDeps = {
    changes,
    registry: new NodeRegistry(redis, config.QUEUE_PREFIX),
    store: services.store,
    pingRedis: async () => {
      await redis.ping();
    },
    log: apiLog,
    intake: intakeDeps(config, services, redis, { records, investigations, audit, notifyTargets }, apiLog, true),
    auth: { tokens: tokens.tokens, linkSecret: services.linkSecret },
    notifier: parts.notifier,
    notifyHosts: config.NOTIFY_URL_HOSTS,
    links,
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
    alertmanager: alertmanagerSettings(config, services.alertRules),
    render: new RenderPool({ size: config.RENDER_POOL_SIZE, maxQueue: config.RENDER_QUEUE_MAX, log: apiLog }),
    streams: new StreamSlots({ perIdentity: config.SSE_MAX_PER_IDENTITY, total: config.SSE_MAX_STREAMS }),
    limits: { apiBody: config.API_BODY_LIMIT, chatopsBody: config.CHATOPS_BODY_LIMIT, renderInput: config.RENDER_MAX_INPUT },
  };
  const app = createApp(deps);
  const server = await new Promise<ReturnType<typeof serve>>((ok, fail) => {
    const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () => ok(s));
    s.once('error', fail);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const url = `http://${host}:${port}`;
  listening.url = url;
  return {
    name: 'api',
    url,
    routes: app.routes.filter((r) => r.method !== 'ALL').map((r) => ({ method: r.method, path: r.path })),
    ...(tokens.generated ? { generatedToken: tokens.generated } : {}),
    stop: async () => {
      // Open event streams would hold the server open: end them first.
      await changes.close();
      await deps.render.close();
      await new Promise<void>((ok) => server.close(() => ok()));
      await parts.close();
    },
  };
}
