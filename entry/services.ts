/** Redis and object storage, configured or embedded, and what every process loads at start (playbooks, access, rules). */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { OnFatal } from './embedded-services.ts';
import { loadAlertRules } from '../src/alerts/load.ts';
import type { AlertRules } from '../src/alerts/rules.ts';
import { loadAccessFile, type AccessFile } from '../src/auth/access-file.ts';
import { linkSecret } from '../src/auth/bootstrap.ts';
import { ConfigError, type Config } from '../src/config.ts';
import type { RedisEndpoint } from '../src/redis/connection.ts';
import type { Playbook } from '../src/playbooks/playbook.ts';
import { loadPlaybooks } from '../src/playbooks/load.ts';
import { createInventory } from '../src/inventory/create.ts';
import type { Inventory } from '../src/inventory/inventory.ts';
import { ArtifactStore } from '../src/storage/artifact-store.ts';
import { attemptBoundMs, s3Limits } from '../src/storage/s3-options.ts';
import { StorageReadiness } from '../src/storage/storage-readiness.ts';
import type { Stoppable } from '../src/stoppable.ts';

export interface Services {
  playbooks: readonly Playbook[];
  inventory: Inventory | null;
  access: AccessFile;
  alertRules: AlertRules | null;
  /** Key of signed links: the API checks them, the notification worker makes them. */
  linkSecret: string;
  /** The configured Redis (standalone or cluster), or the embedded server. */
  redis: RedisEndpoint;
  store: ArtifactStore;
  /**
   * Creates the bucket when storage first answers. Not started here: the entry point starts it once it serves
   * (the CLI, after the API listens), so a process answers its health checks before the storage client loads, and
   * start-up never waits for storage (a hung or absent S3 must not hang it). An AWS Lambda function never starts
   * it: its bucket is the infrastructure's (infra/aws).
   */
  storage: StorageReadiness;
  /** Embedded servers this process started, to stop last. */
  owned: Stoppable[];
}

export interface ServiceOptions {
  /** An embedded server gone for good (redis-server dying over and over): by default the process exits, loudly. */
  onFatal?: OnFatal;
  /** Access rules from elsewhere than ACCESS_FILE (a Lambda function's secret). */
  access?: AccessFile;
  /**
   * Whether a missing REDIS_URL or S3_ENDPOINT starts private embedded servers (a host's `npm start`). Where none
   * can run (AWS Lambda), their absence is a configuration error instead.
   */
  embedded?: boolean;
}

/** Redis and object storage: the configured ones, or private embedded ones when none is configured. */
export async function startServices(config: Config, log: Logger, opts: ServiceOptions = {}): Promise<Services> {
  const onFatal =
    opts.onFatal ??
    ((err: Error) => {
      log.fatal({ err }, 'an embedded server is gone; exiting');
      console.error(`fatal: ${err.message}`);
      process.exit(1);
    });
  if (opts.embedded === false) {
    const missing = (['REDIS_URL', 'S3_ENDPOINT'] as const).filter((k) => !config[k]);
    if (missing.length > 0) throw ConfigError.of(missing.map((k) => ({ path: k, message: 'required here (no embedded server can run)' })));
  }
  // Playbooks first: a broken playbook file should stop start-up before any server is started.
  const playbooks = await loadPlaybooks(config.PLAYBOOKS_DIR);
  const access = opts.access ?? (await loadAccessFile(config.ACCESS_FILE));
  const alertRules = config.ALERT_RULES_FILE ? await loadAlertRules(config.ALERT_RULES_FILE, playbooks) : null;
  const secret = await linkSecret(config.LINK_SECRET, resolve(config.DATA_DIR));
  const inventory = await createInventory(config);
  if (inventory) log.info({ inventory: inventory.kind }, 'inventory configured');
  const owned: Stoppable[] = [];
  try {
    let redis: RedisEndpoint | undefined = config.REDIS_URL ? { url: config.REDIS_URL, cluster: config.REDIS_CLUSTER } : undefined;
    // The embedded servers' modules (s3rver and its dependencies) load only in embedded mode.
    if (!redis) {
      const { startEmbeddedRedisService } = await import('./embedded-services.ts');
      const embedded = await startEmbeddedRedisService(config, log, onFatal);
      owned.push(embedded);
      redis = { url: embedded.url, cluster: false };
    }
    let s3 = {
      endpoint: config.S3_ENDPOINT,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    };
    if (!s3.endpoint) {
      const { startEmbeddedS3Service } = await import('./embedded-services.ts');
      const embedded = await startEmbeddedS3Service(config, log, onFatal);
      owned.push(embedded);
      s3 = embedded;
    }
    const store = new ArtifactStore({
      bucket: config.S3_BUCKET,
      s3: {
        ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
        ...(s3.accessKeyId ? { accessKeyId: s3.accessKeyId } : {}),
        ...(s3.secretAccessKey ? { secretAccessKey: s3.secretAccessKey } : {}),
        region: config.S3_REGION,
        forcePathStyle: config.S3_FORCE_PATH_STYLE,
        limits: s3Limits(config),
      },
    });
    const storage = new StorageReadiness({
      store,
      endpoint: s3.endpoint ?? `AWS S3 (${config.S3_REGION})`,
      log,
      attemptTimeoutMs: attemptBoundMs(s3Limits(config)),
    });
    owned.push({ name: 'storage readiness', stop: async () => storage.stop() }, { name: 'object storage client', stop: () => store.close() });
    return { playbooks, inventory, access, alertRules, linkSecret: secret, redis, store, storage, owned };
  } catch (err) {
    for (const o of owned.reverse()) await o.stop().catch(() => undefined);
    throw err;
  }
}
