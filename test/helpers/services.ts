import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ArtifactStore } from '../../src/storage/artifact-store.ts';
import { s3Limits } from '../../src/storage/s3-options.ts';
import { createS3Client } from '../../src/storage/s3-client.ts';

/** URL of the run's private redis-server (started by global-setup.ts). */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A fresh client for the run's embedded S3; call client.destroy() in afterAll to free its sockets. */
export function testS3(): { client: S3Client; store: ArtifactStore; bucket: string } {
  const s3 = inject('s3');
  const client = createS3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: true,
    // The service's own defaults: tests exercise what production runs.
    limits: s3Limits(loadConfig({})),
  });
  return { client, store: new ArtifactStore({ client, bucket: s3.bucket }), bucket: s3.bucket };
}

/**
 * A BullMQ queue prefix (or S3 key prefix) no other test file uses: all files share one Redis and one bucket.
 * Colons and braces are avoided because BullMQ uses ":" as its separator and "{}" as cluster hash tags.
 */
export function uniquePrefix(label = 'test'): string {
  return `th-${label}-${randomBytes(5).toString('hex')}`;
}
