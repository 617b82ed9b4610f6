import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { REDIS_URL_FILE, S3_ENV_FILE, startEmbeddedRedisService, startEmbeddedS3Service } from '../../entry/embedded-services.ts';
import { createLogger } from '../../src/log.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded-redis.ts';
import { ArtifactStore } from '../../src/storage/artifact-store.ts';
import { s3Limits } from '../../src/storage/s3-options.ts';
import { createS3Client } from '../../src/storage/s3-client.ts';
import { startEmbeddedS3, type EmbeddedS3 } from '../../src/storage/embedded-s3.ts';

const root = mkdtempSync(join(tmpdir(), 'th-embedded-auth-'));
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const mode = (path: string) => statSync(path).mode & 0o777;
const s3Client = (endpoint: string, accessKeyId: string, secretAccessKey: string) =>
  createS3Client({ endpoint, region: 'us-east-1', accessKeyId, secretAccessKey, forcePathStyle: true, limits: { ...s3Limits(loadConfig({})), maxAttempts: 1 } });
/** What an S3 call was answered, as the SDK reports it. */
const refusal = async (p: Promise<unknown>) => {
  const err = (await p.then(() => null, (e: unknown) => e)) as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return err && { name: err.name, status: err.$metadata?.httpStatusCode };
};

/** SHA-256 for the signer, from node:crypto (independent of the one the server uses). */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData) => (typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
class Sha256 {
  private readonly h;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(d: SourceData) {
    this.h.update(bytes(d));
  }
  digest() {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}

describe('embedded Redis: password-protected', () => {
  it('refuses clients without the password (ioredis and redis-cli say NOAUTH), serves those with it, and never shows it on the command line', async () => {
    const redis = await startEmbeddedRedis();
    stops.push(redis.stop);
    expect(redis.url).toBe(`redis://:${redis.password}@127.0.0.1:${redis.port}`);

    const anonymous = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true, retryStrategy: () => null });
    const errors: string[] = [];
    anonymous.on('error', (err: Error) => errors.push(err.message));
    try {
      await expect(anonymous.connect()).rejects.toThrow();
      expect(errors.join('\n')).toMatch(/NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
    const cli = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(redis.port), 'GET', 'x'], { encoding: 'utf8' });
    expect(cli).toMatch(/NOAUTH Authentication required/);
    const wrong = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(redis.port), '--no-auth-warning', '-a', 'not-the-password', 'PING'], { encoding: 'utf8' });
    expect(`${wrong.stdout}${wrong.stderr}`).toMatch(/WRONGPASS/);
    expect(wrong.stdout).not.toMatch(/PONG/);

    const client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
    expect(readFileSync(`/proc/${redis.pid}/cmdline`, 'utf8')).not.toContain(redis.password);
    await redis.stop();
  });

  it('is restarted on its port with its password when it dies, clients reconnect, and past the bound the supervisor gives up loudly', async () => {
    const restarts: { pid: number; previousPid: number; reason: string }[] = [];
    const gaveUp: Error[] = [];
    const redis: EmbeddedRedis = await startEmbeddedRedis({
      dataDir: join(root, 'supervised'),
      supervise: { maxRestarts: 2, windowMs: 60_000, onRestart: (e) => restarts.push(e), onGiveUp: (err) => gaveUp.push(err) },
    });
    stops.push(redis.stop);
    const client = createRedis(redis.url);
    client.on('error', () => undefined); // reconnecting while the server is down
    stops.push(async () => client.disconnect());
    await client.set('kept-by-the-client', 'yes');

    const first = redis.pid;
    process.kill(first, 'SIGKILL');
    await expect.poll(() => restarts.length, { timeout: 10_000 }).toBe(1);
    expect(restarts[0]).toMatchObject({ previousPid: first, reason: 'exited (SIGKILL)' });
    expect(redis.pid).not.toBe(first);
    expect(alive(redis.pid)).toBe(true);
    // Same URL (port and password): the existing client reconnects by itself.
    expect(await client.ping()).toBe('PONG');

    process.kill(redis.pid, 'SIGKILL');
    await expect.poll(() => restarts.length, { timeout: 10_000 }).toBe(2);
    expect(await client.ping()).toBe('PONG');
    const last = redis.pid;
    process.kill(last, 'SIGKILL');
    await expect.poll(() => gaveUp.length, { timeout: 10_000 }).toBe(1);
    expect(gaveUp[0]!.message).toMatch(/embedded redis-server \(pid \d+\) exited \(SIGKILL\); it died 3 times within 60s, not restarting it again/);
    expect(restarts).toHaveLength(2);
    client.disconnect();
    await redis.stop();
    expect(alive(last)).toBe(false);
  });

  it('stop() ends a supervised server without restarting it', async () => {
    const restarts: unknown[] = [];
    const redis = await startEmbeddedRedis({ supervise: { maxRestarts: 5, windowMs: 60_000, onRestart: (e) => restarts.push(e), onGiveUp: () => restarts.push('gave up') } });
    const pid = redis.pid;
    await redis.stop();
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(pid)).toBe(false);
    expect(restarts).toEqual([]);
  });
});

describe('embedded S3: only requests signed with its generated credentials', () => {
  let s3: EmbeddedS3;
  const bucket = 'auth-test';
  const ready = (async () => {
    s3 = await startEmbeddedS3({ dataDir: join(root, 's3'), bucket });
    stops.push(s3.stop);
  })();

  it('serves the right credentials (put, get, list)', async () => {
    await ready;
    expect(s3.accessKeyId).not.toBe('S3RVER');
    const client = s3Client(s3.endpoint, s3.accessKeyId, s3.secretAccessKey);
    const store = new ArtifactStore({ client, bucket });
    try {
      await store.put('inv/a b+c ü.txt', 'secret bytes', 'text/plain');
      expect((await store.get('inv/a b+c ü.txt')).body.toString()).toBe('secret bytes');
      expect((await store.list('inv/')).map((o) => o.key)).toEqual(['inv/a b+c ü.txt']);
    } finally {
      client.destroy();
    }
  });

  it('refuses a wrong secret, an unknown key, s3rver\'s built-in account and unsigned requests with 403 and an S3 XML error', async () => {
    await ready;
    const good = s3Client(s3.endpoint, s3.accessKeyId, s3.secretAccessKey);
    await good.send(new PutObjectCommand({ Bucket: bucket, Key: 'report.md', Body: 'private' }));
    good.destroy();
    for (const [id, secret, name] of [
      [s3.accessKeyId, 'wrong-secret-wrong-secret-wrong-secret', 'SignatureDoesNotMatch'],
      ['AKIAUNKNOWN000000000', s3.secretAccessKey, 'InvalidAccessKeyId'],
      ['S3RVER', 'S3RVER', 'InvalidAccessKeyId'],
    ] as const) {
      const client = s3Client(s3.endpoint, id, secret);
      expect(await refusal(client.send(new GetObjectCommand({ Bucket: bucket, Key: 'report.md' })))).toEqual({ name, status: 403 });
      expect(await refusal(client.send(new PutObjectCommand({ Bucket: bucket, Key: 'planted.txt', Body: 'x' })))).toEqual({ name, status: 403 });
      client.destroy();
    }

    const unsigned = await fetch(`${s3.endpoint}/${bucket}/report.md`);
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('content-type')).toBe('application/xml');
    expect(await unsigned.text()).toMatch(/<Error><Code>AccessDenied<\/Code><Message>anonymous access is not allowed/);
    const presigned = await fetch(`${s3.endpoint}/${bucket}/report.md?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${s3.accessKeyId}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=${'0'.repeat(64)}`);
    expect(presigned.status).toBe(403);
    expect(await presigned.text()).toMatch(/<Code>AccessDenied<\/Code><Message>query-string \(presigned\) authentication is not accepted/);
    expect((await fetch(`${s3.endpoint}/`)).status).toBe(403);
  });

  /** A GET signed by hand, to replay or to date in the past. */
  const signedGet = async (key: string, signingDate: Date) => {
    const url = new URL(`${s3.endpoint}/${bucket}/${key}`);
    const signer = new SignatureV4({ credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false });
    const req = await signer.sign(
      { method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, query: {}, headers: { host: url.host, 'x-amz-content-sha256': createHash('sha256').update('').digest('hex') } },
      { signingDate },
    );
    return req.headers as Record<string, string>;
  };

  it('checks the signature over the request: a signed GET replayed for another key, or dated 20 minutes ago, is refused', async () => {
    await ready;
    const headers = await signedGet('report.md', new Date());
    const ok = await fetch(`${s3.endpoint}/${bucket}/report.md`, { headers });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('private');

    const replayed = await fetch(`${s3.endpoint}/${bucket}/other.md`, { headers });
    expect(replayed.status).toBe(403);
    expect(await replayed.text()).toMatch(/<Code>SignatureDoesNotMatch<\/Code>/);

    const old = await fetch(`${s3.endpoint}/${bucket}/report.md`, { headers: await signedGet('report.md', new Date(Date.now() - 20 * 60_000)) });
    expect(old.status).toBe(403);
    expect(await old.text()).toMatch(/<Code>RequestTimeTooSkewed<\/Code>/);
  });
});

describe('npm start\'s embedded servers: files for a second local process', () => {
  it('writes DATA_DIR/redis-url and DATA_DIR/s3.env, mode 0600 in a 0700 DATA_DIR, and what they hold works', async () => {
    const dataDir = join(root, 'start-data');
    const config = loadConfig({ DATA_DIR: dataDir, S3_BUCKET: 'joined' });
    const log = createLogger('silent');
    const fatal = (err: Error) => {
      throw err;
    };
    const redis = await startEmbeddedRedisService(config, log, fatal);
    stops.push(redis.stop);
    const s3 = await startEmbeddedS3Service(config, log, fatal);
    stops.push(s3.stop);

    expect(mode(dataDir)).toBe(0o700);
    for (const f of [REDIS_URL_FILE, S3_ENV_FILE]) expect(mode(join(dataDir, f))).toBe(0o600);

    const redisUrl = readFileSync(join(dataDir, REDIS_URL_FILE), 'utf8').trim();
    expect(redisUrl).toMatch(/^redis:\/\/:[A-Za-z0-9_-]+@127\.0\.0\.1:\d+$/);
    const client = new Redis(redisUrl, { lazyConnect: true });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();

    const env = Object.fromEntries(readFileSync(join(dataDir, S3_ENV_FILE), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(Object.keys(env)).toEqual(['S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
    const joined = s3Client(env.S3_ENDPOINT!, env.S3_ACCESS_KEY_ID!, env.S3_SECRET_ACCESS_KEY!);
    try {
      const store = new ArtifactStore({ client: joined, bucket: 'joined' });
      await store.put('from-a-second-agent.txt', 'hello', 'text/plain');
      expect((await store.get('from-a-second-agent.txt')).body.toString()).toBe('hello');
    } finally {
      joined.destroy();
    }
  });
});
