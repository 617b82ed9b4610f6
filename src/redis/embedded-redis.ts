import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { connect, isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { findFreePort } from '../net/free-port.ts';
import { isLoopback } from '../net/loopback.ts';

export interface EmbeddedRedisOptions {
  /** Snapshots go here; without it nothing is persisted. */
  dataDir?: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  binary?: string;
  /** The AUTH password; one is generated when absent. Pass the previous one to bring back a server its clients know. */
  password?: string;
  /** Restart the server when it dies on its own (not through stop()); without it a death is only seen by clients. */
  supervise?: RedisSupervision;
}

export interface RedisSupervision {
  /** Restarts allowed within `windowMs`; one more death in that window gives up. */
  maxRestarts: number;
  windowMs: number;
  onRestart(event: { pid: number; previousPid: number; reason: string }): void;
  /** The server is down for good: the caller must stop (and say so), or its clients wait for ever. */
  onGiveUp(err: Error): void;
}

export interface EmbeddedRedis {
  /** redis://:<password>@host:port */
  url: string;
  port: number;
  password: string;
  /** The running server's process id (a restart changes it). */
  readonly pid: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const KILL_AFTER_MS = 3_000;
/** Free-port races: another process can take the port between our probe and redis binding it. */
const BIND_ATTEMPTS = 5;
const OUTPUT_TAIL_LINES = 20;
/** Between failed restart attempts (the port still held by a dying server, say). */
const RESTART_PAUSE_MS = 200;

class BindError extends Error {}

/** One redis-server process: ready to serve, and how it ended once it has. */
interface Running {
  pid: number;
  /** Resolves with what ended the process (its code or signal); never rejects. */
  exited: Promise<string>;
  /** Whether stop() was called: an exit after it is expected. */
  stopping(): boolean;
  stop(): Promise<void>;
}

/**
 * Runs a private redis-server child for single-node development and tests, on loopback only and with a password
 * (any local user could otherwise read and rewrite every queue). The password reaches redis on its stdin, never
 * its command line, which every local user can read in /proc.
 */
export async function startEmbeddedRedis(opts: EmbeddedRedisOptions = {}): Promise<EmbeddedRedis> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`embedded Redis binds loopback only, not ${host}: set REDIS_URL for a shared server`);
  const dataDir = opts.dataDir === undefined ? undefined : resolvePath(opts.dataDir);
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const password = opts.password ?? randomBytes(24).toString('base64url');
  // Printable ASCII only: it travels in a config line and a URL.
  if (!/^[\x21-\x7e]{8,512}$/.test(password)) throw new Error('embedded Redis password: 8 to 512 printable ASCII characters, no spaces');
  const binary = opts.binary ?? 'redis-server';

  const fixedPort = opts.port ?? 0;
  let first: Running;
  let port: number;
  for (let attempt = 1; ; attempt++) {
    port = fixedPort !== 0 ? fixedPort : await findFreePort(host);
    try {
      first = await launch(binary, host, port, dataDir, password);
      break;
    } catch (err) {
      if (!(err instanceof BindError) || fixedPort !== 0 || attempt >= BIND_ATTEMPTS) throw err;
    }
  }
  const hostForUrl = isIP(host) === 6 ? `[${host}]` : host;
  const url = `redis://:${encodeURIComponent(password)}@${hostForUrl}:${port}`;
  const server = { url, port, password, pid: first.pid };
  if (!opts.supervise) return { ...server, stop: first.stop };
  return supervise(server, first, opts.supervise, () => launch(binary, host, port, dataDir, password));
}

/** Restarts the server on its port, with its password and data dir, each time it dies on its own: clients reconnect. */
function supervise(
  server: Omit<EmbeddedRedis, 'stop'>,
  first: Running,
  policy: RedisSupervision,
  relaunch: () => Promise<Running>,
): EmbeddedRedis {
  let current = first;
  let stopped = false;
  let restarting: Promise<void> | undefined;
  const deaths: number[] = [];

  const restart = async (dead: Running, reason: string) => {
    for (;;) {
      const now = Date.now();
      deaths.push(now);
      while (deaths[0]! < now - policy.windowMs) deaths.shift();
      if (deaths.length > policy.maxRestarts) {
        policy.onGiveUp(new Error(`embedded redis-server (pid ${dead.pid}) ${reason}; it died ${deaths.length} times within ${policy.windowMs / 1000}s, not restarting it again`));
        return;
      }
      try {
        const next = await relaunch();
        if (stopped) return void (await next.stop());
        current = next;
        watch(next);
        policy.onRestart({ pid: next.pid, previousPid: dead.pid, reason });
        return;
      } catch (err) {
        reason = `could not be restarted: ${(err as Error).message.split('\n')[0]}`;
        await sleep(RESTART_PAUSE_MS);
        if (stopped) return;
      }
    }
  };
  const watch = (r: Running) => {
    void r.exited.then((how) => {
      if (stopped || r.stopping()) return;
      restarting = restart(r, `exited (${how})`).finally(() => (restarting = undefined));
    });
  };
  watch(first);

  return {
    ...server,
    get pid() {
      return current.pid;
    },
    async stop() {
      stopped = true;
      await restarting;
      await current.stop();
    },
  };
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
    // The rest of the configuration (the password) comes on stdin.
    '-',
  ];
}

/** A value in redis.conf syntax: double-quoted, with the escapes its parser understands. */
const confString = (v: string) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

async function launch(binary: string, host: string, port: number, dataDir: string | undefined, password: string): Promise<Running> {
  // Its own process group: a terminal's Ctrl-C goes to the whole foreground group, and a redis that quits at once
  // would leave every client of ours reconnecting while we shut down in order. We stop it, last.
  const child = spawn(binary, redisArgs(host, port, dataDir), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  child.stdin?.on('error', () => undefined); // EPIPE when the binary is missing or exits at once: reported below
  child.stdin?.end(`requirepass ${confString(password)}\n`);
  const output = collectTail(child);
  let stopRequested = false;
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)));
  // A child left running by a crashed test run or an uncaught exception would hold the port forever.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));

  const stop = once(async () => {
    stopRequested = true;
    process.removeListener('exit', killOnExit);
    // No pid: spawn itself failed (e.g. ENOENT) and no 'exit' will ever come.
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    await exited;
    clearTimeout(timer);
  });

  try {
    const pid = await waitUntilReady(child, host, port, password, output);
    return { pid, exited, stopping: () => stopRequested, stop };
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

async function waitUntilReady(child: ChildProcess, host: string, port: number, password: string, output: () => string): Promise<number> {
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
    const pid = await Promise.race([serverPid(host, port, password), failure]);
    // Another process may have taken the port first; only our own child counts as ready.
    if (pid !== undefined && pid === child.pid) return pid;
    if (pid !== undefined) throw new BindError(`port ${port} on ${host} is already in use by another redis (pid ${pid})`);
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${host}:${port} within ${READY_TIMEOUT_MS} ms\n${output()}`);
    await Promise.race([sleep(50), failure]);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Sends AUTH and `INFO server` over a raw socket and returns the answering process id, or undefined if nothing (or
 * something that is not our redis) listens. A raw socket avoids a client library's reconnect loop and logging.
 */
function serverPid(host: string, port: number, password: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let buf = '';
    const done = (pid: number | undefined) => {
      socket.destroy();
      resolve(pid);
    };
    const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
    socket.setTimeout(1_000, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('connect', () => socket.write(`*2\r\n${bulk('AUTH')}${bulk(password)}*2\r\n${bulk('INFO')}${bulk('server')}`));
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      // "-WRONGPASS": another redis; "-LOADING ..." while a snapshot loads: not ready yet.
      if (buf.startsWith('-')) return done(undefined);
      if (!buf.startsWith('+OK\r\n')) return buf.length > 64 ? done(undefined) : undefined;
      const info = buf.slice('+OK\r\n'.length);
      if (info.startsWith('-')) return done(undefined);
      const header = /^\$(\d+)\r\n/.exec(info);
      if (header === null) return info.length > 64 ? done(undefined) : undefined;
      if (info.length < header[0].length + Number(header[1])) return;
      const pid = /\r\nprocess_id:(\d+)\r\n/.exec(info);
      done(pid?.[1] === undefined ? undefined : Number(pid[1]));
    });
  });
}
