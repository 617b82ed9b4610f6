import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { startNodeAgent } from '../workers/node-agent/agent.ts';
import { startOrchestrator } from '../workers/orchestrator/orchestrator.ts';
import { createApp } from './api/app.ts';
import type { Config } from './config.ts';
import type { Playbook } from './core/playbooks/playbook.ts';
import { NodeRegistry } from './inventory/node-registry.ts';
import { createRedis } from './queue/connection.ts';
import { startEmbeddedRedis } from './queue/embedded-redis.ts';
import { InvestigationRecords } from './queue/investigation-records.ts';
import { INVESTIGATIONS_QUEUE } from './queue/jobs.ts';
import { loadPlaybooks } from './playbooks/load.ts';
import { createInventory } from './inventory/create.ts';
import type { Inventory } from './inventory/inventory.ts';
import { ArtifactStore, createS3Client } from './storage/artifact-store.ts';
import { startEmbeddedS3 } from './storage/embedded-s3.ts';

export interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

export interface Services {
  playbooks: readonly Playbook[];
  inventory: Inventory | null;
  redisUrl: string;
  store: ArtifactStore;
  /** Embedded servers this process started, to stop last. */
  owned: Stoppable[];
}

/** Redis and object storage: the configured ones, or private embedded ones when none is configured. */
export async function startServices(config: Config, log: Logger): Promise<Services> {
  // Playbooks first: a broken playbook file should stop start-up before any server is started.
  const playbooks = await loadPlaybooks(config.PLAYBOOKS_DIR);
  const inventory = await createInventory(config);
  if (inventory) log.info({ inventory: inventory.kind }, 'inventory configured');
  const owned: Stoppable[] = [];
  try {
    let redisUrl = config.REDIS_URL;
    if (!redisUrl) {
      const dataDir = resolve(config.DATA_DIR, 'redis');
      await mkdir(dataDir, { recursive: true });
      const redis = await startEmbeddedRedis({ dataDir });
      owned.push({ name: 'embedded redis', stop: redis.stop });
      redisUrl = redis.url;
      log.info({ url: redis.url, pid: redis.pid }, 'started embedded redis-server (REDIS_URL unset)');
    }
    let s3 = {
      endpoint: config.S3_ENDPOINT,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    };
    if (!s3.endpoint) {
      const dataDir = resolve(config.DATA_DIR, 's3');
      await mkdir(dataDir, { recursive: true });
      const embedded = await startEmbeddedS3({ dataDir, bucket: config.S3_BUCKET, port: 0, silent: true });
      owned.push({ name: 'embedded s3', stop: embedded.stop });
      s3 = embedded;
      log.info({ endpoint: embedded.endpoint, dataDir }, 'started embedded S3 server (S3_ENDPOINT unset)');
    }
    const client = createS3Client({
      ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
      ...(s3.accessKeyId ? { accessKeyId: s3.accessKeyId } : {}),
      ...(s3.secretAccessKey ? { secretAccessKey: s3.secretAccessKey } : {}),
      region: config.S3_REGION,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
    });
    const store = new ArtifactStore({ client, bucket: config.S3_BUCKET });
    await store.ensureBucket();
    return { playbooks, inventory, redisUrl, store, owned };
  } catch (err) {
    for (const o of owned.reverse()) await o.stop().catch(() => undefined);
    throw err;
  }
}

export async function startApi(config: Config, services: Services, log: Logger): Promise<Stoppable & { url: string }> {
  const redis = createRedis(services.redisUrl);
  const investigations = new Queue(INVESTIGATIONS_QUEUE, { connection: redis, prefix: config.QUEUE_PREFIX });
  const app = createApp({
    playbooks: services.playbooks,
    inventory: services.inventory,
    records: new InvestigationRecords(redis, config.QUEUE_PREFIX),
    investigations,
    registry: new NodeRegistry(redis, config.QUEUE_PREFIX),
    store: services.store,
    pingRedis: async () => {
      await redis.ping();
    },
    log: log.child({ part: 'api' }),
  });
  const server = await new Promise<ReturnType<typeof serve>>((ok, fail) => {
    const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () => ok(s));
    s.once('error', fail);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  return {
    name: 'api',
    url: `http://${host}:${port}`,
    stop: async () => {
      await new Promise<void>((ok) => server.close(() => ok()));
      await investigations.close();
      await redis.quit();
    },
  };
}

export async function startOrchestratorPart(config: Config, services: Services, log: Logger): Promise<Stoppable> {
  const o = await startOrchestrator({ playbooks: services.playbooks, inventory: services.inventory, redisUrl: services.redisUrl, prefix: config.QUEUE_PREFIX, store: services.store, log });
  return { name: 'orchestrator', stop: o.close };
}

export async function startAgentPart(config: Config, services: Services, log: Logger): Promise<Stoppable> {
  const a = await startNodeAgent({ config, redisUrl: services.redisUrl, store: services.store, log });
  return { name: `agent ${a.name}`, stop: a.close };
}
