import { resolve } from 'node:path';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { startNodeAgent } from '../workers/node-agent/agent.ts';
import { startOrchestrator } from '../workers/orchestrator/orchestrator.ts';
import { createApp } from '../src/api/app.ts';
import { startEmbeddedRedisService, startEmbeddedS3Service, type OnFatal } from './embedded-services.ts';
import { StreamSlots } from '../src/api/stream-slots.ts';
import type { AlertmanagerSettings, ApiDeps } from '../src/api/deps.ts';
import { loadAlertRules } from '../src/alerts/load.ts';
import type { AlertRules } from '../src/alerts/rules.ts';
import { AuditLog } from '../src/audit/audit-log.ts';
import { loadAccessFile, type AccessFile } from '../src/auth/access-file.ts';
import { apiTokens, linkSecret } from '../src/auth/bootstrap.ts';
import { LinkSigner } from '../src/auth/signed-links.ts';
import type { Config } from '../src/config.ts';
import { RequesterRateLimiter } from '../src/intake/rate-limit.ts';
import type { IntakeDeps } from '../src/intake/start.ts';
import { Notifier } from '../src/notify/notifier.ts';
import { NotifyTargets } from '../src/notify/targets.ts';
import { InvestigationChanges } from '../src/records/investigation-changes.ts';
import { OnceKeys } from '../src/intake/once-keys.ts';
import { ScheduleStore } from '../src/schedules/schedule-store.ts';
import type { Redis } from 'ioredis';
import { startNotificationWorker } from '../workers/orchestrator/notification-worker.ts';
import { startScheduleRunner } from '../workers/orchestrator/schedule-runner.ts';
import type { Playbook } from '../src/playbooks/playbook.ts';
import { NodeRegistry } from '../src/inventory/node-registry.ts';
import { createRedis } from '../src/redis/connection.ts';
import { InvestigationRecords } from '../src/records/investigation-records.ts';
import { QUEUES, openQueue } from '../src/queue/queues.ts';
import { loadPlaybooks } from '../src/playbooks/load.ts';
import { createInventory } from '../src/inventory/create.ts';
import type { Inventory } from '../src/inventory/inventory.ts';
import { ArtifactStore, attemptBoundMs, createS3Client, s3Limits } from '../src/storage/artifact-store.ts';
import { StorageReadiness } from '../src/storage/storage-readiness.ts';
import { RenderPool } from '../src/render/pool.ts';
import type { Stoppable } from '../src/stoppable.ts';

export interface Services {
  playbooks: readonly Playbook[];
  inventory: Inventory | null;
  access: AccessFile;
  alertRules: AlertRules | null;
  /** Key of signed links: the API checks them, the notification worker makes them. */
  linkSecret: string;
  redisUrl: string;
  store: ArtifactStore;
  /** Storage is not waited for at start-up: this says when it first answered (and its bucket exists). */
  storage: StorageReadiness;
  /** Embedded servers this process started, to stop last. */
  owned: Stoppable[];
}

/** Redis and object storage: the configured ones, or private embedded ones when none is configured. */
export async function startServices(
  config: Config,
  log: Logger,
  // An embedded server gone for good (redis-server dying over and over): by default the process exits, loudly.
  onFatal: OnFatal = (err) => {
    log.fatal({ err }, 'an embedded server is gone; exiting');
    console.error(`fatal: ${err.message}`);
    process.exit(1);
  },
): Promise<Services> {
  // Playbooks first: a broken playbook file should stop start-up before any server is started.
  const playbooks = await loadPlaybooks(config.PLAYBOOKS_DIR);
  const access = await loadAccessFile(config.ACCESS_FILE);
  const alertRules = config.ALERT_RULES_FILE ? await loadAlertRules(config.ALERT_RULES_FILE, playbooks) : null;
  const secret = await linkSecret(config.LINK_SECRET, resolve(config.DATA_DIR));
  const inventory = await createInventory(config);
  if (inventory) log.info({ inventory: inventory.kind }, 'inventory configured');
  const owned: Stoppable[] = [];
  try {
    let redisUrl = config.REDIS_URL;
    if (!redisUrl) {
      const redis = await startEmbeddedRedisService(config, log, onFatal);
      owned.push(redis);
      redisUrl = redis.url;
    }
    let s3 = {
      endpoint: config.S3_ENDPOINT,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    };
    if (!s3.endpoint) {
      const embedded = await startEmbeddedS3Service(config, log, onFatal);
      owned.push(embedded);
      s3 = embedded;
    }
    const client = createS3Client({
      ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
      ...(s3.accessKeyId ? { accessKeyId: s3.accessKeyId } : {}),
      ...(s3.secretAccessKey ? { secretAccessKey: s3.secretAccessKey } : {}),
      region: config.S3_REGION,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      limits: s3Limits(config),
    });
    const store = new ArtifactStore({ client, bucket: config.S3_BUCKET });
    // Not awaited: a hung or absent S3 must not hang start-up. The bucket is created when storage first answers.
    const storage = new StorageReadiness({
      store,
      endpoint: s3.endpoint ?? `AWS S3 (${config.S3_REGION})`,
      log,
      attemptTimeoutMs: attemptBoundMs(s3Limits(config)),
    }).start();
    owned.push({ name: 'storage readiness', stop: async () => storage.stop() });
    return { playbooks, inventory, access, alertRules, linkSecret: secret, redisUrl, store, storage, owned };
  } catch (err) {
    for (const o of owned.reverse()) await o.stop().catch(() => undefined);
    throw err;
  }
}

/** The one door for investigations, shared by the API and the schedule runner. */
function intakeDeps(
  config: Config,
  services: Services,
  redis: Redis,
  parts: Pick<IntakeDeps, 'records' | 'investigations' | 'audit' | 'notifyTargets'>,
  log: Logger,
  rateLimit: boolean,
): IntakeDeps {
  return {
    ...parts,
    playbooks: services.playbooks,
    inventory: services.inventory,
    limiter: rateLimit ? new RequesterRateLimiter(redis, config.QUEUE_PREFIX, config.RATE_LIMIT) : null,
    limits: { maxDurationMs: config.CAPTURE_MAX_DURATION, maxHz: config.CAPTURE_MAX_HZ },
    log,
  };
}

const publicBaseUrl = (config: Config, listening?: string) => config.PUBLIC_BASE_URL ?? listening ?? `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${config.PORT}`;

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
  const redis = createRedis(services.redisUrl);
  const onRedis = { connection: redis, prefix: config.QUEUE_PREFIX };
  const investigations = openQueue(QUEUES.investigations, onRedis);
  const schedulesQueue = openQueue(QUEUES.schedules, onRedis);
  const notificationsQueue = openQueue(QUEUES.notifications, onRedis);
  const apiLog = log.child({ part: 'api' });
  const audit = new AuditLog(redis, config.QUEUE_PREFIX, apiLog);
  const notifyTargets = new NotifyTargets(redis, config.QUEUE_PREFIX);
  const records = new InvestigationRecords(redis, config.QUEUE_PREFIX);
  const changes = await InvestigationChanges.start(createRedis(services.redisUrl), records.changeChannel);
  // The signer needs the public URL, known only once the server listens on a port (PORT=0 in tests).
  let links = new LinkSigner(services.linkSecret, publicBaseUrl(config), config.LINK_TTL / 1000);
  const deps: ApiDeps = {
    playbooks: services.playbooks,
    inventory: services.inventory,
    records,
    changes,
    investigations,
    registry: new NodeRegistry(redis, config.QUEUE_PREFIX),
    store: services.store,
    pingRedis: async () => {
      await redis.ping();
    },
    log: apiLog,
    intake: intakeDeps(config, services, redis, { records, investigations, audit, notifyTargets }, apiLog, true),
    audit,
    auth: { tokens: tokens.tokens, linkSecret: services.linkSecret },
    notifier: new Notifier(notifyTargets, notificationsQueue),
    notifyTargets,
    notifyHosts: config.NOTIFY_URL_HOSTS,
    get links() {
      return links;
    },
    schedules: new ScheduleStore(redis, config.QUEUE_PREFIX, schedulesQueue),
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
  links = new LinkSigner(services.linkSecret, publicBaseUrl(config, url), config.LINK_TTL / 1000);
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
      await Promise.all([investigations.close(), schedulesQueue.close(), notificationsQueue.close()]);
      await redis.quit();
    },
  };
}

/** The orchestrator with what runs beside it: the schedule runner and the notification worker. */
export async function startOrchestratorPart(config: Config, services: Services, log: Logger, opts: { publicUrl?: string } = {}): Promise<Stoppable> {
  const redis = createRedis(services.redisUrl);
  const onRedis = { connection: redis, prefix: config.QUEUE_PREFIX };
  const investigations = openQueue(QUEUES.investigations, onRedis);
  const schedulesQueue = openQueue(QUEUES.schedules, onRedis);
  const notificationsQueue = openQueue(QUEUES.notifications, onRedis);
  const audit = new AuditLog(redis, config.QUEUE_PREFIX, log.child({ part: 'schedules' }));
  const records = new InvestigationRecords(redis, config.QUEUE_PREFIX);
  const schedules = new ScheduleStore(redis, config.QUEUE_PREFIX, schedulesQueue);
  const notifyTargets = new NotifyTargets(redis, config.QUEUE_PREFIX);
  const notifier = new Notifier(notifyTargets, notificationsQueue);
  const o = await startOrchestrator({
    playbooks: services.playbooks,
    inventory: services.inventory,
    redisUrl: services.redisUrl,
    prefix: config.QUEUE_PREFIX,
    store: services.store,
    log,
    reaperIntervalMs: config.REAPER_INTERVAL,
    hooks: {
      changed: (id, event) => notifier.changed(id, event),
      wantsThumbnails: (id) => notifyTargets.has(id),
      previousRuns: async (inv) => {
        const ids = inv.schedule ? await schedules.previousRuns(inv.schedule, inv.id, 5) : [];
        const found = await Promise.all(ids.map((id) => records.find(id)));
        return found.filter((x): x is NonNullable<typeof x> => x !== null && x.status === 'succeeded');
      },
    },
  });
  const runner = startScheduleRunner({
    redisUrl: services.redisUrl,
    prefix: config.QUEUE_PREFIX,
    schedules,
    schedulesQueue,
    intake: intakeDeps(config, services, redis, { records, investigations, audit, notifyTargets }, log, false),
    audit,
    log,
  });
  const notifications = startNotificationWorker({
    redisUrl: services.redisUrl,
    prefix: config.QUEUE_PREFIX,
    records,
    targets: notifyTargets,
    links: new LinkSigner(services.linkSecret, publicBaseUrl(config, opts.publicUrl), config.LINK_TTL / 1000),
    allowedHosts: config.NOTIFY_URL_HOSTS,
    timeoutMs: config.NOTIFY_TIMEOUT,
    log,
  });
  return {
    name: 'orchestrator',
    stop: async () => {
      await runner.close();
      await notifications.close();
      await o.close();
      await Promise.all([investigations.close(), schedulesQueue.close(), notificationsQueue.close()]);
      await redis.quit();
    },
  };
}

export async function startAgentPart(config: Config, services: Services, log: Logger): Promise<Stoppable> {
  const a = await startNodeAgent({ config, redisUrl: services.redisUrl, store: services.store, log });
  return { name: `agent ${a.name}`, stop: a.close };
}
