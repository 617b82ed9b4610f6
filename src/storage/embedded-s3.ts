import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import S3rver from 's3rver';

export interface EmbeddedS3Options {
  dataDir: string;
  bucket: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  silent?: boolean;
}

export interface EmbeddedS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

// s3rver only accepts its hard-coded dummy account (and does not verify SigV4 signatures at all).
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** How long in-flight requests get to finish before stop() cuts their sockets. */
const CLOSE_GRACE_MS = 2_000;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * Single-node development and tests: an S3-compatible server on loopback storing objects under dataDir.
 * It has no real authentication, which is why it refuses anything but a loopback address.
 */
export async function startEmbeddedS3(opts: EmbeddedS3Options): Promise<EmbeddedS3> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`embedded S3 binds loopback only, not ${host}: set S3_ENDPOINT for a real server`);
  await mkdir(opts.dataDir, { recursive: true });

  const server = new S3rver({
    address: host,
    port: opts.port ?? 0,
    directory: opts.dataDir,
    // Also silences Koa's default error printer, which reads app.silent.
    silent: opts.silent ?? true,
    // Path-style only: virtual-host guessing would turn "localhost:port" requests into bucket names.
    vhostBuckets: false,
    configureBuckets: [{ name: opts.bucket }],
  });
  const address = await server.run();
  const hostForUrl = isIP(address.address) === 6 ? `[${address.address}]` : address.address;

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= closeServer(server);
    return stopping;
  };
  return { endpoint: `http://${hostForUrl}:${address.port}`, ...CREDENTIALS, stop };
}

async function closeServer(server: S3rver): Promise<void> {
  const http = server.httpServer;
  if (!http) return;
  // SDK clients keep sockets alive; without cutting them close() would wait for their idle timeout.
  const closed = server.close();
  http.closeIdleConnections();
  const timer = setTimeout(() => http.closeAllConnections(), CLOSE_GRACE_MS);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}
