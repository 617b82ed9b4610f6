/**
 * The AWS SDK's S3 client as tracehound configures it, and the commands ArtifactStore sends. Loaded by ArtifactStore
 * on its first call (artifact-store.ts says why); import it directly only where a client is wanted up front (tests).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3ClientOptions } from './s3-options.ts';

export { CreateBucketCommand, GetObjectCommand, ListObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';

export function createS3Client(opts: S3ClientOptions): S3Client {
  if ((opts.accessKeyId === undefined) !== (opts.secretAccessKey === undefined)) {
    throw new Error('S3 credentials need both an access key id and a secret access key (or neither, for the default chain)');
  }
  const { connectTimeoutMs, requestTimeoutMs, maxAttempts } = opts.limits;
  return new S3Client({
    region: opts.region,
    forcePathStyle: opts.forcePathStyle,
    // Without these a hung S3 (accepting, never answering) hangs every caller for ever. requestTimeout is a
    // wall-clock limit until the answer's headers, an error only with throwOnRequestTimeout; socketTimeout is an
    // idle limit that also covers a response body that stops half-way (GET).
    requestHandler: new NodeHttpHandler({
      connectionTimeout: connectTimeoutMs,
      requestTimeout: requestTimeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: requestTimeoutMs,
    }),
    // Timeouts, resets and 5xx are retried with exponential backoff and jitter, within the SDK's retry quota.
    retryMode: 'standard',
    maxAttempts,
    ...(opts.endpoint !== undefined && { endpoint: opts.endpoint }),
    ...(opts.accessKeyId !== undefined &&
      opts.secretAccessKey !== undefined && {
        credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
      }),
    // Since 3.729 the SDK adds CRC32 checksums (aws-chunked bodies with trailers) to every upload; s3rver and
    // several S3-compatible servers reject or mis-store those. Only send/verify them when an operation needs them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

