import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { privateDir, writeSecretFile } from '../src/auth/bootstrap.ts';
import type { Config } from '../src/config.ts';
import { startEmbeddedRedis } from '../src/redis/embedded-redis.ts';
import type { Stoppable } from '../src/stoppable.ts';
import { startEmbeddedS3 } from '../src/storage/embedded-s3.ts';

/**
 * Files in DATA_DIR (mode 0600) through which another local process of the same operator — a second agent, a
 * tool — joins the embedded servers: `REDIS_URL=$(cat redis-url)`, and s3.env as environment lines.
 */
export const REDIS_URL_FILE = 'redis-url';
export const S3_ENV_FILE = 's3.env';

/** A redis-server that keeps dying is not restarted for ever: past this many deaths a minute, the process exits. */
const REDIS_RESTARTS = { maxRestarts: 5, windowMs: 60_000 };

/** Called when an embedded server is gone for good: the process must stop, saying why, not hang on it. */
export type OnFatal = (err: Error) => void;

/** The private redis-server `npm start` runs when REDIS_URL is unset, restarted if it dies. */
export async function startEmbeddedRedisService(config: Config, log: Logger, onFatal: OnFatal): Promise<Stoppable & { url: string }> {
  const dataDir = resolve(config.DATA_DIR);
  await privateDir(dataDir);
  const redis = await startEmbeddedRedis({
    dataDir: resolve(dataDir, 'redis'),
    supervise: {
      ...REDIS_RESTARTS,
      onRestart: (e) => log.error({ pid: e.pid, previousPid: e.previousPid, reason: e.reason }, `embedded redis-server ${e.reason}; restarted it on the same port (clients reconnect)`),
      onGiveUp: onFatal,
    },
  });
  const file = resolve(dataDir, REDIS_URL_FILE);
  await writeSecretFile(file, `${redis.url}\n`);
  log.info({ port: redis.port, pid: redis.pid, urlFile: file }, 'started embedded redis-server (REDIS_URL unset; password-protected, URL in the file)');
  return { name: 'embedded redis', url: redis.url, stop: redis.stop };
}

/** The S3 server `npm start` runs in-process when S3_ENDPOINT is unset, behind generated credentials. */
export async function startEmbeddedS3Service(
  config: Config,
  log: Logger,
  onFatal: OnFatal,
): Promise<Stoppable & { endpoint: string; accessKeyId: string; secretAccessKey: string }> {
  const dataDir = resolve(config.DATA_DIR);
  await privateDir(dataDir);
  const s3 = await startEmbeddedS3({ dataDir: resolve(dataDir, 's3'), bucket: config.S3_BUCKET, port: 0, silent: true, onFailure: onFatal });
  const file = resolve(dataDir, S3_ENV_FILE);
  await writeSecretFile(file, `S3_ENDPOINT=${s3.endpoint}\nS3_ACCESS_KEY_ID=${s3.accessKeyId}\nS3_SECRET_ACCESS_KEY=${s3.secretAccessKey}\n`);
  log.info({ endpoint: s3.endpoint, envFile: file }, 'started embedded S3 server (S3_ENDPOINT unset; credentials in the file)');
  return { name: 'embedded s3', endpoint: s3.endpoint, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, stop: s3.stop };
}
