import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';

const BIN = fileURLToPath(new URL('../../bin/tracehound.mjs', import.meta.url));
/** Issue #10: Ctrl-C ends everything within this. */
const EXIT_WITHIN_MS = 3_000;

const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
/** Every process below `pid` (redis-server, the capture's timeout and bpftrace, tsx's esbuild). */
const descendantsOf = (pid: number): number[] => childrenOf(pid).flatMap((c) => [c, ...descendantsOf(c)]);
const commandOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '(gone)';
  }
};
/**
 * Still running: exists and is not a zombie. A capture SIGKILLed together with its `timeout` is orphaned as a
 * zombie, and where pid 1 does not reap (some containers) it stays one; it runs nothing and holds nothing.
 */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const mode = (path: string) => statSync(path).mode & 0o777;

interface Started {
  child: ChildProcessWithoutNullStreams;
  url: string;
  token: string;
  output(): string;
  get(path: string): Promise<Response>;
  post(path: string, body: unknown): Promise<Response>;
}

const running: Started[] = [];
afterEach(() => {
  // A failed test must not leave `tracehound start` (or what it started) running.
  for (const s of running.splice(0)) {
    for (const pid of [s.child.pid!, ...descendantsOf(s.child.pid!)]) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
});

/** `npm start` as a terminal runs it: its own process group, which Ctrl-C signals as a whole. */
async function startTracehound(dataDir: string, env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, [BIN, 'start'], {
    env: { ...process.env, PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn', REDIS_URL: '', S3_ENDPOINT: '', NODE_NAME: 'start-test', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const [url, token] = await new Promise<[string, string]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL and token printed within 30 s:\n${out}`)), 30_000);
    child.stdout.on('data', () => {
      const m = /ready: (http:\/\/\S+)[\s\S]*?\n {2}(th_[A-Za-z0-9_-]{43})\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve([m[1]!, m[2]!]);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
  });
  const auth = { authorization: `Bearer ${token}` };
  const started: Started = {
    child,
    url,
    token,
    output: () => out,
    get: (path) => fetch(`${url}${path}`, { headers: auth }),
    post: (path, body) => fetch(`${url}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  };
  running.push(started);
  return started;
}

/** Which of `pids` still run a moment after the exit (time for init to reap what our exit orphaned). */
async function leftRunning(pids: number[]): Promise<string[]> {
  for (let i = 0; i < 5 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive).map((p) => `${p} ${commandOf(p)}`);
}

/** Ctrl-C: SIGINT to the whole foreground process group. Returns the exit code and how long it took. */
async function ctrlC(s: Started): Promise<{ code: number | null; ms: number }> {
  const exited = new Promise<number | null>((r) => s.child.on('exit', (code) => r(code)));
  const t0 = performance.now();
  process.kill(-s.child.pid!, 'SIGINT');
  const code = await exited;
  return { code, ms: performance.now() - t0 };
}

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What a newcomer's `npm start` does: everything in one process with its own Redis and S3, and Ctrl-C cleans up. */
describe('tracehound start with embedded defaults', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'th-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it.each([1, 2, 3])('serves, is ready, and on Ctrl-C exits within 3 s leaving no process behind (run %i)', async () => {
    const s = await startTracehound(dataDir);
    expect(await (await fetch(`${s.url}/readyz`)).json()).toMatchObject({ status: 'ready' });
    // No token configured: one was generated, printed, and kept readable by root only; without it the API says 401.
    expect(readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()).toBe(s.token);
    expect(mode(join(dataDir, 'admin-token'))).toBe(0o600);
    // How a second local agent joins: the embedded servers' credentials, for the operator only.
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, 'redis-url'))).toBe(0o600);
    expect(mode(join(dataDir, 's3.env'))).toBe(0o600);
    expect((await fetch(`${s.url}/v1/nodes`)).status).toBe(401);
    const nodes = (await (await s.get('/v1/nodes')).json()) as { items: { name: string }[] };
    expect(nodes.items.map((n) => n.name)).toEqual(['start-test']);
    const helpers = descendantsOf(s.child.pid!);
    expect(helpers.map(commandOf)).toContain('redis-server');

    const { code, ms } = await ctrlC(s);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(EXIT_WITHIN_MS);
    expect(await leftRunning(helpers)).toEqual([]);
  });

  it('restarts its redis-server when it is killed, on the same port and password, and the API keeps working', async () => {
    const s = await startTracehound(dataDir);
    const redisPid = descendantsOf(s.child.pid!).find((p) => commandOf(p) === 'redis-server')!;
    const redisUrl = readFileSync(join(dataDir, 'redis-url'), 'utf8');
    process.kill(redisPid, 'SIGKILL');

    await waitUntil('the restart logged', async () => /embedded redis-server exited \(SIGKILL\); restarted it on the same port/.test(s.output()) || undefined);
    const next = descendantsOf(s.child.pid!).find((p) => commandOf(p) === 'redis-server')!;
    expect(next).not.toBe(redisPid);
    expect(readFileSync(join(dataDir, 'redis-url'), 'utf8')).toBe(redisUrl);
    await waitUntil('ready again', async () => ((await (await fetch(`${s.url}/readyz`)).json()) as { status: string }).status === 'ready' || undefined);
    // Its data went with it (no snapshot yet); the agent's heartbeat registers the node again.
    await waitUntil('the node registered again', async () => {
      const body = (await (await s.get('/v1/nodes')).json()) as { items: { name: string }[] };
      return body.items.some((n) => n.name === 'start-test') || undefined;
    });
    expect((await s.post('/v1/schedules', { name: 'after-restart', every: '1h', playbook: 'health-sweep' })).status).toBe(201);

    const { code, ms } = await ctrlC(s);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(EXIT_WITHIN_MS);
    expect(await leftRunning([next])).toEqual([]);
  });

  it('refuses to listen beyond loopback without configured tokens', async () => {
    const env = { ...process.env, PORT: '0', HOST: '0.0.0.0', DATA_DIR: dataDir, LOG_LEVEL: 'silent', REDIS_URL: '', S3_ENDPOINT: '', ACCESS_FILE: '', NODE_NAME: 'start-test' };
    const child = spawn(process.execPath, [BIN, 'api'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(out).toMatch(/HOST=0\.0\.0\.0 is not loopback and no API token is configured: set ACCESS_FILE/);
    expect(out).not.toMatch(/ready:/);
  });
});

describe.skipIf(skipBpf)(bpfSuiteName('tracehound start: Ctrl-C in the middle of a capture'), () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'th-start-capture-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('exits within 3 s and leaves no bpftrace, timeout or redis-server running', async () => {
    assertBpf();
    const s = await startTracehound(dataDir);
    const res = await s.post('/v1/investigations', { playbook: 'cpu-profile', target: { node: 'start-test' }, params: { duration: '30s', hz: 49 } });
    expect(res.status).toBe(202);
    const helpers = await waitUntil('bpftrace running', async () => {
      const all = descendantsOf(s.child.pid!);
      return all.some((p) => commandOf(p) === 'bpftrace') ? all : undefined;
    });
    expect(helpers.map(commandOf)).toEqual(expect.arrayContaining(['redis-server', 'bpftrace']));

    const { code, ms } = await ctrlC(s);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(EXIT_WITHIN_MS);
    expect(await leftRunning(helpers)).toEqual([]);
  });
});
