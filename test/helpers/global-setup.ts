import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { build } from '../../scripts/build.mjs';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded-redis.ts';
import { startEmbeddedS3, type EmbeddedS3 } from '../../src/storage/embedded-s3.ts';

export interface TestS3Config {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    s3: TestS3Config;
  }
}

const TEST_BUCKET = 'tracehound-test';

/**
 * One private redis-server and one s3rver for the whole run: starting them per file would dominate the run
 * time, and files isolate themselves with uniquePrefix() and per-test keys instead.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Tests that start `bin/tracehound.mjs` run the build (dist/): make it once here, before any of them can race to.
  await build({ ifStale: true });
  const dir = await mkdtemp(join(tmpdir(), 'tracehound-test-'));
  let redis: EmbeddedRedis | undefined;
  let s3: EmbeddedS3 | undefined;

  const teardown = async () => {
    const results = await Promise.allSettled([redis?.stop(), s3?.stop()]);
    await rm(dir, { recursive: true, force: true });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };

  const started = await Promise.allSettled([
    startEmbeddedRedis({ host: '127.0.0.1', port: 0 }),
    startEmbeddedS3({ dataDir: join(dir, 's3'), bucket: TEST_BUCKET, port: 0, silent: true }),
  ]);
  if (started[0].status === 'fulfilled') redis = started[0].value;
  if (started[1].status === 'fulfilled') s3 = started[1].value;
  if (redis === undefined || s3 === undefined) {
    // One of the two may be running; nothing else would ever stop it.
    await teardown().catch(() => undefined);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    throw failed?.reason;
  }

  project.provide('redisUrl', redis.url);
  project.provide('s3', {
    endpoint: s3.endpoint,
    bucket: TEST_BUCKET,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  return teardown;
}
