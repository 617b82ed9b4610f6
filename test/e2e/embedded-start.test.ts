import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/tracehound.mjs', import.meta.url));

const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** What a newcomer's `npm start` does: everything in one process with its own Redis and S3, and Ctrl-C cleans up. */
describe('tracehound start with embedded defaults', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'th-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves, is ready, and leaves no process behind on SIGINT', async () => {
    const env = { ...process.env, PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn', REDIS_URL: '', S3_ENDPOINT: '', NODE_NAME: 'start-test' };
    const child = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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

    expect(await (await fetch(`${url}/readyz`)).json()).toMatchObject({ status: 'ready' });
    // No token configured: one was generated, printed, and kept readable by root only; without it the API says 401.
    expect(readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()).toBe(token);
    expect(statSync(join(dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
    expect((await fetch(`${url}/v1/nodes`)).status).toBe(401);
    const nodes = (await (await fetch(`${url}/v1/nodes`, { headers: { authorization: `Bearer ${token}` } })).json()) as { items: { name: string }[] };
    expect(nodes.items.map((n) => n.name)).toEqual(['start-test']);
    const helpers = childrenOf(child.pid!);
    expect(helpers.length).toBeGreaterThan(0); // the private redis-server

    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    for (let i = 0; i < 50 && helpers.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(helpers.filter(alive)).toEqual([]);
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
