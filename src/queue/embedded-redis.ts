import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { connect, isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { findFreePort } from '../net/free-port.ts';

export interface EmbeddedRedisOptions {
  /** Snapshots go here; without it nothing is persisted. */
  dataDir?: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  binary?: string;
}

export interface EmbeddedRedis {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const KILL_AFTER_MS = 3_000;
/** Free-port races: another process can take the port between our probe and redis binding it. */
const BIND_ATTEMPTS = 5;
const OUTPUT_TAIL_LINES = 20;

class BindError extends Error {}

/**
 * Runs a private redis-server child for single-node development and tests. It has no password, so it
 * only ever binds loopback.
 */
export async function startEmbeddedRedis(opts: EmbeddedRedisOptions = {}): Promise<EmbeddedRedis> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`embedded Redis binds loopback only, not ${host}: set REDIS_URL for a shared server`);
  const dataDir = opts.dataDir === undefined ? undefined : resolvePath(opts.dataDir);
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });

  const fixedPort = opts.port ?? 0;
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort !== 0 ? fixedPort : await findFreePort(host);
    try {
      return await launch(opts.binary ?? 'redis-server', host, port, dataDir);
    } catch (err) {
      if (!(err instanceof BindError) || fixedPort !== 0 || attempt >= BIND_ATTEMPTS) throw err;
    }
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function redisArgs(host: string, port: number, dataDir: string | undefined): string[] {
  return [
    // No config file: every setting is explicit so a system-wide /etc/redis/redis.conf cannot leak in.
    '--port', String(port),
    '--bind', host,
    '--protected-mode', 'yes',
    '--daemonize', 'no',
    '--appendonly', 'no',
    // BullMQ loses jobs silently if Redis evicts its keys under memory pressure.
    '--maxmemory-policy', 'noeviction',
    '--loglevel', 'warning',
    // Redis default snapshot points when persisting; otherwise none, and a stray BGSAVE lands in tmp, not the cwd.
    ...(dataDir === undefined
      ? ['--save', '', '--dir', tmpdir()]
      : ['--save', '3600 1 300 100 60 10000', '--dir', dataDir, '--dbfilename', 'redis.rdb']),
  ];
}

async function launch(binary: string, host: string, port: number, dataDir: string | undefined): Promise<EmbeddedRedis> {
  const child = spawn(binary, redisArgs(host, port, dataDir), { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collectTail(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A child left running by a crashed test run or an uncaught exception would hold the port forever.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = once(async () => {
    process.removeListener('exit', killOnExit);
    // No pid: spawn itself failed (e.g. ENOENT) and no 'exit' will ever come.
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    await exited;
    clearTimeout(timer);
  });

  try {
    const pid = await waitUntilReady(child, host, port, output);
    const hostForUrl = isIP(host) === 6 ? `[${host}]` : host;
    return { url: `redis://${hostForUrl}:${port}`, port, pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

/** Keeps the last lines of output for error messages, and drains the pipes so redis never blocks on them. */
function collectTail(child: ChildProcess): () => string {
  const lines: string[] = [];
  const onData = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter((l) => l.trim() !== ''));
    lines.splice(0, Math.max(0, lines.length - OUTPUT_TAIL_LINES));
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return () => lines.join('\n');
}

async function waitUntilReady(child: ChildProcess, host: string, port: number, output: () => string): Promise<number> {
  const failure = new Promise<never>((_, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new Error(`${child.spawnfile} not found: apt-get install -y redis-server, or set REDIS_URL`)
          : err,
      );
    });
    child.once('exit', (code, signal) => {
      const log = output();
      const msg = `redis-server exited (${signal ?? `code ${code}`}) before accepting connections on ${host}:${port}\n${log}`;
      reject(/Address already in use|bind:/i.test(log) ? new BindError(msg) : new Error(msg));
    });
  });
  // Keep an early rejection from being reported as unhandled while we are still polling.
  failure.catch(() => undefined);

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const pid = await Promise.race([serverPid(host, port), failure]);
    // Another process may have taken the port first; only our own child counts as ready.
    if (pid !== undefined && pid === child.pid) return pid;
    if (pid !== undefined) throw new BindError(`port ${port} on ${host} is already in use by another redis (pid ${pid})`);
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${host}:${port} within ${READY_TIMEOUT_MS} ms\n${output()}`);
    await Promise.race([sleep(50), failure]);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Sends `INFO server` over a raw socket and returns the answering process id, or undefined if nothing (or
 * something that is not redis) listens. A raw socket avoids a client library's reconnect loop and logging.
 */
function serverPid(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let buf = '';
    const done = (pid: number | undefined) => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(1_000, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('connect', () => socket.write('*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n'));
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      // "-LOADING ..." while a snapshot loads: not ready yet.
      if (buf.startsWith('-')) return done(undefined);
      const header = /^\$(\d+)\r\n/.exec(buf);
      if (header === null) return buf.length > 64 ? done(undefined) : undefined;
      if (buf.length < header[0].length + Number(header[1])) return;
      const pid = /\r\nprocess_id:(\d+)\r\n/.exec(buf);
      done(pid?.[1] === undefined ? undefined : Number(pid[1]));
    });
  });
}
