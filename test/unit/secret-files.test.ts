import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AccessFile } from '../../src/auth/access-file.ts';
import { apiTokens, linkSecret, writeSecretFile } from '../../src/auth/bootstrap.ts';

const mode = (path: string) => statSync(path).mode & 0o777;
const root = mkdtempSync(join(tmpdir(), 'th-secrets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A DATA_DIR that exists already, readable by everyone (as an older version or a careless mkdir left it). */
const openDataDir = () => {
  const dir = join(root, `data-${++n}`);
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  return dir;
};
const noTokens = AccessFile.parse({});

describe('secret files in DATA_DIR', () => {
  it('admin-token: replaces a pre-existing 0644 file with a 0600 one, and narrows DATA_DIR to 0700', async () => {
    const dir = openDataDir();
    writeFileSync(join(dir, 'admin-token'), 'old\n', { mode: 0o644 });
    chmodSync(join(dir, 'admin-token'), 0o644);
    const { generated } = await apiTokens(noTokens, '127.0.0.1', dir);
    expect(readFileSync(join(dir, 'admin-token'), 'utf8')).toBe(`${generated!.token}\n`);
    expect(mode(join(dir, 'admin-token'))).toBe(0o600);
    expect(mode(dir)).toBe(0o700);
  });

  it('link-secret: keeps a pre-existing secret but makes its 0644 file 0600', async () => {
    const dir = openDataDir();
    const kept = 'k'.repeat(43);
    writeFileSync(join(dir, 'link-secret'), `${kept}\n`);
    chmodSync(join(dir, 'link-secret'), 0o644);
    expect(await linkSecret(undefined, dir)).toBe(kept);
    expect(mode(join(dir, 'link-secret'))).toBe(0o600);
    expect(mode(dir)).toBe(0o700);
  });

  it('link-secret: a new one is 0600 in a new 0700 DATA_DIR, whatever the umask', async () => {
    const dir = join(root, 'fresh', 'data');
    const old = process.umask(0o000);
    try {
      const s = await linkSecret(undefined, dir);
      expect(s.length).toBeGreaterThanOrEqual(32);
    } finally {
      process.umask(old);
    }
    expect(mode(join(dir, 'link-secret'))).toBe(0o600);
    expect(mode(dir)).toBe(0o700);
  });

  it('never writes through a symlink planted where a secret goes', async () => {
    const dir = openDataDir();
    const victim = join(root, `victim-${n}`);
    writeFileSync(victim, 'do not touch\n');
    chmodSync(victim, 0o644);
    symlinkSync(victim, join(dir, 'link-secret'));
    symlinkSync(victim, join(dir, 'redis-url'));
    await linkSecret(undefined, dir);
    await writeSecretFile(join(dir, 'redis-url'), 'redis://:pw@127.0.0.1:1\n');
    expect(readFileSync(victim, 'utf8')).toBe('do not touch\n');
    expect(mode(victim)).toBe(0o644);
    expect(mode(join(dir, 'link-secret'))).toBe(0o600);
    expect(readFileSync(join(dir, 'redis-url'), 'utf8')).toBe('redis://:pw@127.0.0.1:1\n');
  });
});
