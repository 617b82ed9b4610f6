import type { BucketLocationConstraint, GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { NotFoundError, ServiceUnavailableError } from '../core/errors.ts';
import { KEY_ROOT } from './keys.ts';
import type { S3ClientOptions } from './s3-options.ts';
import { describeStorageError, s3ErrorStatus } from './storage-errors.ts';

export interface StoredObject {
  body: Buffer;
  contentType: string;
  size: number;
}

export interface ListedObject {
  key: string;
  size: number;
}

function isMissingObject(err: unknown): boolean {
  const status = s3ErrorStatus(err);
  if (status === undefined) return false;
  const name = (err as Error).name;
  // A missing bucket is also a 404, but that is a misconfiguration, not an absent artifact.
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || status === 404;
}

type S3Module = typeof import('./s3-client.ts');

/**
 * Where objects are. The AWS SDK (half a megabyte of JavaScript) loads on the first call, not at start-up: the API
 * answers its first requests, and a Lambda function its first invocation, without parsing it (issue #13's budgets).
 * Give `client` to use one already made (tests), or `s3` to have it made on first use.
 */
export type ArtifactStoreOptions = { bucket: string } & ({ client: S3Client } | { s3: S3ClientOptions });

export class ArtifactStore {
  readonly bucket: string;
  private readonly connect: () => Promise<{ client: S3Client; sdk: S3Module }>;
  private connected: Promise<{ client: S3Client; sdk: S3Module }> | undefined;

  constructor(opts: ArtifactStoreOptions) {
    this.bucket = opts.bucket;
    this.connect = async () => {
      const sdk = await import('./s3-client.ts');
      return { client: 'client' in opts ? opts.client : sdk.createS3Client(opts.s3), sdk };
    };
  }

  private s3(): Promise<{ client: S3Client; sdk: S3Module }> {
    return (this.connected ??= this.connect());
  }

  /** Ends the client's sockets (if it was ever made). */
  async close(): Promise<void> {
    if (this.connected) (await this.connected).client.destroy();
  }

  /** `signal` abandons the upload (and its retries), e.g. when the agent stops. */
  async put(key: string, body: string | Buffer, contentType: string, opts: { signal?: AbortSignal } = {}): Promise<{ size: number }> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const { client, sdk } = await this.s3();
    await client.send(
      new sdk.PutObjectCommand({
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
    const { client, sdk } = await this.s3();
    try {
      const res = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }));
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
    const { client, sdk } = await this.s3();
    try {
      res = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }));
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
    const { client, sdk } = await this.s3();
    for (;;) {
      const res = await client.send(
        new sdk.ListObjectsCommand({
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
    const { client, sdk } = await this.s3();
    try {
      const region = await client.config.region();
      await client.send(
        new sdk.CreateBucketCommand({
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
      if (s3ErrorStatus(err) === undefined || !(await this.bucketExists(call))) throw err;
    }
  }

  /** Readiness probe: the bucket is reachable with these credentials. `signal` stops waiting for the answer. */
  async ping(opts: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      await this.probe(opts.signal ? { abortSignal: opts.signal } : {});
    } catch (err) {
      const why = s3ErrorStatus(err) === 404 ? `object storage has no bucket ${this.bucket}` : describeStorageError(err);
      throw new ServiceUnavailableError(why, { cause: err });
    }
  }

  /**
   * One key listed under KEY_ROOT: answers whether the bucket exists and is readable with these credentials, within
   * the only grant a least-privilege deployment gives (HeadBucket needs s3:ListBucket on the whole bucket).
   */
  private async probe(call: { abortSignal?: AbortSignal }): Promise<void> {
    const { client, sdk } = await this.s3();
    await client.send(new sdk.ListObjectsCommand({ Bucket: this.bucket, Prefix: KEY_ROOT, MaxKeys: 1 }), call);
  }

  private async bucketExists(call: { abortSignal?: AbortSignal }): Promise<boolean> {
    try {
      await this.probe(call);
      return true;
    } catch (err) {
      if (s3ErrorStatus(err) === 404) return false;
      throw err;
    }
  }
}
