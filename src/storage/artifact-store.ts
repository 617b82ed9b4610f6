import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { BucketLocationConstraint, GetObjectCommandOutput } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from '../config.ts';
import { NotFoundError, ServiceUnavailableError } from '../core/errors.ts';
import { KEY_ROOT } from './keys.ts';
import { describeStorageError } from './storage-errors.ts';

/** How long one S3 attempt may take, and how many attempts a call gets. */
export interface S3Limits {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxAttempts: number;
}

export const s3Limits = (c: Pick<Config, 'S3_CONNECT_TIMEOUT' | 'S3_REQUEST_TIMEOUT' | 'S3_MAX_ATTEMPTS'>): S3Limits => ({
  connectTimeoutMs: c.S3_CONNECT_TIMEOUT,
  requestTimeoutMs: c.S3_REQUEST_TIMEOUT,
  maxAttempts: c.S3_MAX_ATTEMPTS,
});

/** The longest one attempt can last: a caller that wants a single bounded try waits this long. */
export const attemptBoundMs = (l: S3Limits) => l.connectTimeoutMs + l.requestTimeoutMs;

export interface S3ClientOptions {
  endpoint?: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
  limits: S3Limits;
}

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

export interface StoredObject {
  body: Buffer;
  contentType: string;
  size: number;
}

export interface ListedObject {
  key: string;
  size: number;
}

function httpStatus(err: unknown): number | undefined {
  return err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
}

function isMissingObject(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  // A missing bucket is also a 404, but that is a misconfiguration, not an absent artifact.
  if (err.name === 'NoSuchBucket') return false;
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || httpStatus(err) === 404;
}

export class ArtifactStore {
  readonly client: S3Client;
  readonly bucket: string;

  constructor(opts: { client: S3Client; bucket: string }) {
    this.client = opts.client;
    this.bucket = opts.bucket;
  }

  /** `signal` abandons the upload (and its retries), e.g. when the agent stops. */
  async put(key: string, body: string | Buffer, contentType: string, opts: { signal?: AbortSignal } = {}): Promise<{ size: number }> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentType: contentType,
        ContentLength: bytes.length,
      }),
      opts.signal ? { abortSignal: opts.signal } : {},
    );
    return { size: bytes.length };
  }

  /** Throws NotFoundError when the key does not exist. */
  async get(key: string): Promise<StoredObject> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const body = Buffer.from((await res.Body?.transformToByteArray()) ?? new Uint8Array());
      return { body, contentType: res.ContentType ?? 'application/octet-stream', size: body.length };
    } catch (err) {
      if (isMissingObject(err)) throw new NotFoundError(`no artifact at ${key}`);
      throw err;
    }
  }

  /**
   * An object's bytes in shared memory, for a worker thread (src/render/pool.ts): the buffer is shared with the
   * thread, not copied to it, and filled chunk by chunk as the body arrives, so a large object (a 30 MB profile) is
   * never concatenated or copied in one piece on the event loop (get() does both). An object over `maxBytes`, or
   * of no declared length, is refused before its body is read. Throws NotFoundError when the key does not exist.
   */
  async getShared(key: string, maxBytes: number): Promise<Uint8Array<SharedArrayBuffer>> {
    let res: GetObjectCommandOutput;
    try {
      res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isMissingObject(err)) throw new NotFoundError(`no artifact at ${key}`);
      throw err;
    }
    const body = res.Body as Readable | undefined;
    const size = res.ContentLength ?? 0;
    if (res.ContentLength === undefined || size > maxBytes) {
      body?.destroy();
      throw new Error(`object ${key} has ${res.ContentLength === undefined ? 'no declared length' : `${size} bytes`}, more than the ${maxBytes} expected`);
    }
    const out = new Uint8Array(new SharedArrayBuffer(size));
    let offset = 0;
    for await (const chunk of body ?? []) {
      const bytes = chunk as Uint8Array;
      if (offset + bytes.length > size) throw new Error(`object ${key} sent more than its Content-Length (${size} bytes)`);
      out.set(bytes, offset);
      offset += bytes.length;
    }
    if (offset !== size) throw new Error(`object ${key} ended after ${offset} of its ${size} bytes`);
    return out;
  }

  /**
   * All keys under prefix, in key (UTF-8 byte) order. Follows pages, so pageSize only changes round trips.
   *
   * Uses ListObjects (v1) with a marker rather than ListObjectsV2: s3rver 3.7 builds v2 continuation tokens
   * with DES, which OpenSSL 3 (Node >= 17) no longer has, so every truncated v2 page is a 500. v1 paging by
   * "last key seen" is equivalent on real S3 and every compatible server.
   *
   * s3rver also returns keys in directory-walk order, which differs from key order when a name has a
   * character below "/" (e.g. "node-1/x" vs "node-1-b/x"); hence the sort. Paging on such names can skip
   * keys there, but only past 1000 keys under one prefix, far more than an investigation writes.
   */
  async list(prefix: string, opts: { pageSize?: number } = {}): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    let marker: string | undefined;
    for (;;) {
      const res = await this.client.send(
        new ListObjectsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          Marker: marker,
          ...(opts.pageSize !== undefined && { MaxKeys: opts.pageSize }),
        }),
      );
      const contents = res.Contents ?? [];
      for (const obj of contents) {
        if (obj.Key !== undefined) out.push({ key: obj.Key, size: obj.Size ?? 0 });
      }
      const last = contents.at(-1)?.Key;
      // Without a delimiter S3 omits NextMarker: the last key returned is the marker.
      if (!res.IsTruncated || last === undefined || last === marker) {
        return out.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
      }
      marker = last;
    }
  }

  /** Creates the bucket if missing. Safe to call from several processes at once. `signal` bounds the whole of it. */
  async ensureBucket(opts: { signal?: AbortSignal } = {}): Promise<void> {
    const call = opts.signal ? { abortSignal: opts.signal } : {};
    if (await this.bucketExists(call)) return;
    try {
      const region = await this.client.config.region();
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          // us-east-1 is the one region that rejects an explicit location constraint. The SDK's enum lags new
          // regions and other providers' names, so any configured region string is passed through.
          ...(region !== 'us-east-1' && {
            CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint },
          }),
        }),
        call,
      );
    } catch (err) {
      // Lost a creation race: s3rver answers BucketAlreadyExists even to the owner, so check rather than trust the name.
      if (!(err instanceof S3ServiceException) || !(await this.bucketExists(call))) throw err;
    }
  }

  /** Readiness probe: the bucket is reachable with these credentials. `signal` stops waiting for the answer. */
  async ping(opts: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      await this.probe(opts.signal ? { abortSignal: opts.signal } : {});
    } catch (err) {
      const why = httpStatus(err) === 404 ? `object storage has no bucket ${this.bucket}` : describeStorageError(err);
      throw new ServiceUnavailableError(why, { cause: err });
    }
  }

  /**
   * One key listed under KEY_ROOT: answers whether the bucket exists and is readable with these credentials, within
   * the only grant a least-privilege deployment gives (HeadBucket needs s3:ListBucket on the whole bucket).
   */
  private async probe(call: { abortSignal?: AbortSignal }): Promise<void> {
    await this.client.send(new ListObjectsCommand({ Bucket: this.bucket, Prefix: KEY_ROOT, MaxKeys: 1 }), call);
  }

  private async bucketExists(call: { abortSignal?: AbortSignal }): Promise<boolean> {
    try {
      await this.probe(call);
      return true;
    } catch (err) {
      if (httpStatus(err) === 404) return false;
      throw err;
    }
  }
}
