import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';

/**
 * A two-node Redis Cluster on loopback, the protocol ElastiCache Serverless and MemoryDB speak. The node `url` names
 * holds no slot: every key lives on the other node, so a client that does not follow the cluster's redirections
 * (MOVED) fails on its first command, as it would against a cluster endpoint. Each node announces 127.0.0.1 (a node
 * that has met no other knows no address of its own).
 */
export interface TestRedisCluster {
  url: string;
  stop(): Promise<void>;
}

/** Cluster mode also listens on port + 10000 (the cluster bus). */
const CLUSTER_PORT_BELOW = 65536 - 10000;

async function until(what: string, check: () => Promise<boolean>, deadline: number): Promise<void> {
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`test Redis Cluster: ${what} did not happen within 15 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRedisCluster(): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'th-redis-cluster-'));
  const children: ChildProcess[] = [];
  const admins: Redis[] = [];
  const stop = async () => {
    for (const a of admins) a.disconnect();
    for (const c of children) {
      if (c.exitCode === null) {
        c.kill('SIGTERM');
        await new Promise((ok) => c.once('exit', ok));
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (const name of ['entry', 'owner']) {
      const port = await freePort({ below: CLUSTER_PORT_BELOW });
      ports.push(port);
      children.push(
        spawn(
          'redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-announce-ip', '127.0.0.1', '--cluster-config-file', join(dir, `${name}.conf`), '--dir', dir, '--save', '', '--appendonly', 'no'],
          { stdio: 'ignore' },
        ),
      );
      // Retries until the server listens; refusals before then are expected, not errors to report.
      const admin = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 50 });
      admin.on('error', () => undefined);
      admins.push(admin);
    }
    const [entry, owner] = admins as [Redis, Redis];
    const deadline = Date.now() + 15_000;
    await until('both nodes answering', async () => (await entry.ping()) === 'PONG' && (await owner.ping()) === 'PONG', deadline);
    await owner.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    await entry.call('CLUSTER', 'MEET', '127.0.0.1', String(ports[1]));
    const ok = async (r: Redis) => String(await r.call('CLUSTER', 'INFO')).includes('cluster_state:ok');
    await until('cluster_state:ok on both nodes', async () => (await ok(entry)) && (await ok(owner)), deadline);
    await until('the entry node knowing who owns the slots', async () => JSON.stringify(await entry.call('CLUSTER', 'SLOTS')).includes(String(ports[1])), deadline);
    return { url: `redis://127.0.0.1:${ports[0]}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
