import { createServer, type Server } from 'node:http';
import { mkdir } from 'node:fs/promises';
import { isIP, type AddressInfo } from 'node:net';
import S3rver from 's3rver';
import { isLoopback } from '../net/loopback.ts';
import { generateS3Credentials, s3AuthFront, type S3Credentials } from './s3-auth-front.ts';

export interface EmbeddedS3Options {
  dataDir: string;
  bucket: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  silent?: boolean;
  /** Generated when absent. */
  credentials?: S3Credentials;
  /** The server stopped listening on its own (not through stop()): its clients would wait for ever. */
  onFailure?(err: Error): void;
}

export interface EmbeddedS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/** How long in-flight requests get to finish before stop() cuts their sockets. */
const CLOSE_GRACE_MS = 1_000;

/**
 * Single-node development and tests: an S3-compatible server on loopback storing objects under dataDir. s3rver
 * itself accepts anonymous requests and any SigV4 signature, so it never listens: our own server on loopback
 * checks every request's signature against generated credentials (s3-auth-front.ts) and only then hands it to
 * s3rver's request handler.
 */
export async function startEmbeddedS3(opts: EmbeddedS3Options): Promise<EmbeddedS3> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`embedded S3 binds loopback only, not ${host}: set S3_ENDPOINT for a real server`);
  await mkdir(opts.dataDir, { recursive: true });
  const credentials = opts.credentials ?? generateS3Credentials();

  const s3rver = new S3rver({
    directory: opts.dataDir,
    // Also silences Koa's default error printer, which reads app.silent.
    silent: opts.silent ?? true,
    // Path-style only: virtual-host guessing would turn "localhost:port" requests into bucket names.
    vhostBuckets: false,
    configureBuckets: [{ name: opts.bucket }],
  });
  await s3rver.configureBuckets();
  const server = createServer(s3AuthFront(credentials, s3rver.callback()));
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen({ host, port: opts.port ?? 0 }, () => {
      server.off('error', fail);
      ok();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = isIP(address.address) === 6 ? `[${address.address}]` : address.address;

  let stopping: Promise<void> | undefined;
  // In this process it cannot crash apart from us, but its listener can fail; nobody must wait on it silently.
  const failed = (err: Error) => {
    if (!stopping) opts.onFailure?.(err);
  };
  server.on('error', (err) => failed(new Error(`embedded S3 server failed: ${err.message}`)));
  server.on('close', () => failed(new Error('embedded S3 server stopped listening')));

  const stop = () => {
    stopping ??= closeServer(server).finally(() => {
      // What s3rver does when its own server closes: release its logger.
      s3rver.logger.exceptions.unhandle();
      s3rver.logger.close();
    });
    return stopping;
  };
  return { endpoint: `http://${hostForUrl}:${address.port}`, ...credentials, stop };
}

async function closeServer(server: Server): Promise<void> {
  // SDK clients keep sockets alive; without cutting them close() would wait for their idle timeout.
  const closed = new Promise<void>((ok) => server.close(() => ok()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}
