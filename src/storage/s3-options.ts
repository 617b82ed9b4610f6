/** How tracehound's S3 client is configured: apart from the client (s3-client.ts), which loads the AWS SDK. */
import type { Config } from '../config.ts';

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
