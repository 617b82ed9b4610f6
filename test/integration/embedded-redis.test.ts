import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/net/free-port.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded-redis.ts';
import { testRedisUrl } from '../helpers/services.ts';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function withClient<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

// Anything a failing test leaves running is stopped here, so the run never leaks a redis-server.
const started: EmbeddedRedis[] = [];
async function start(opts: Parameters<typeof startEmbeddedRedis>[0] = {}): Promise<EmbeddedRedis> {
  const redis = await startEmbeddedRedis(opts);
  started.push(redis);
  return redis;
}
afterAll(async () => {
  await Promise.all(started.map((r) => r.stop()));
});

describe('startEmbeddedRedis', () => {
  it('starts a private loopback redis configured for BullMQ, and stop() leaves no process', async () => {
    const redis = await start();
    expect(redis.url).toBe(`redis://:${redis.password}@127.0.0.1:${redis.port}`);
    expect(redis.url).not.toBe(testRedisUrl());

    await withClient(redis.url, async (client) => {
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
      expect(await client.config('GET', 'protected-mode')).toEqual(['protected-mode', 'yes']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      const info = await client.info('server');
      expect(info).toContain(`process_id:${redis.pid}`);
    });

    expect(isAlive(redis.pid)).toBe(true);
    await redis.stop();
    expect(() => process.kill(redis.pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    await redis.stop(); // idempotent
  });

  it('snapshots into dataDir and reloads it on the next start', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tracehound-redis-'));
    try {
      const first = await start({ dataDir });
      await withClient(first.url, async (c) => {
        await c.set('tracehound:probe', 'kept');
      });
      await first.stop(); // SIGTERM: redis writes a final snapshot when save points are configured
      expect((await stat(join(dataDir, 'redis.rdb'))).size).toBeGreaterThan(0);

      const second = await start({ dataDir });
      expect(second.pid).not.toBe(first.pid);
      expect(await withClient(second.url, (c) => c.get('tracehound:probe'))).toBe('kept');
      await second.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('uses a fixed port when asked', async () => {
    const port = await findFreePort('127.0.0.1');
    const redis = await start({ port });
    expect(redis.port).toBe(port);
    await withClient(redis.url, async (c) => expect(await c.ping()).toBe('PONG'));
    await redis.stop();
  });

  it('rejects clearly when a fixed port is taken', async () => {
    const busy = Number(new URL(testRedisUrl()).port);
    await expect(startEmbeddedRedis({ port: busy })).rejects.toThrow(new RegExp(`port ${busy}|Address already in use`));
  });

  it('rejects with install advice when the binary is missing', async () => {
    await expect(startEmbeddedRedis({ binary: 'redis-server-does-not-exist' })).rejects.toThrow(
      'redis-server-does-not-exist not found: apt-get install -y redis-server, or set REDIS_URL',
    );
  });

  it('refuses to bind anything but loopback (it has no password)', async () => {
    await expect(startEmbeddedRedis({ host: '0.0.0.0' })).rejects.toThrow(/loopback only/);
  });
});

describe('findFreePort', () => {
  it('returns a bindable loopback port', async () => {
    const port = await findFreePort('127.0.0.1');
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
