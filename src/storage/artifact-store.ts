import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { BucketLocationConstraint } from '@aws-sdk/client-s3';
import { NotFoundError, ServiceUnavailableError } from '../core/errors.ts';

export interface S3ClientOptions {
  endpoint?: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
}

export function createS3Client(opts: S3ClientOptions): S3Client {
  if ((opts.accessKeyId === undefined) !== (opts.secretAccessKey === undefined)) {
    throw new Error('S3 credentials need both an access key id and a secret access key (or neither, for the default chain)');
  }
  return new S3Client({
    region: opts.region,
    forcePathStyle: opts.forcePathStyle,
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

  async put(key: string, body: string | Buffer, contentType: string): Promise<{ size: number }> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentType: contentType,
        ContentLength: bytes.length,
      }),
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

  /** Creates the bucket if missing. Safe to call from several processes at once. */
  async ensureBucket(): Promise<void> {
    if (await this.bucketExists()) return;
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
      );
    } catch (err) {
      // Lost a creation race: s3rver answers BucketAlreadyExists even to the owner, so check rather than trust the name.
      if (!(err instanceof S3ServiceException) || !(await this.bucketExists())) throw err;
    }
  }

  /** Readiness probe: the bucket is reachable with these credentials. */
  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw new ServiceUnavailableError(`object storage bucket ${this.bucket} unreachable (${detail})`, { cause: err });
    }
  }

  private async bucketExists(): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return true;
    } catch (err) {
      if (httpStatus(err) === 404) return false;
      throw err;
    }
  }
}
