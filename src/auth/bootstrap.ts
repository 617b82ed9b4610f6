import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isLoopback } from '../net/loopback.ts';
import type { AccessFile } from './access-file.ts';
import { generateToken, hashToken, type TokenEntry } from './tokens.ts';

export { isLoopback };

/** Secrets (tokens, keys, the embedded servers' passwords) are readable by their owner only, whatever the umask. */
const SECRET_FILE_MODE = 0o600;
const DATA_DIR_MODE = 0o700;

/** Creates DATA_DIR, or narrows an existing one, to its owner only: it holds secrets, snapshots and artifacts. */
export async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DATA_DIR_MODE });
  await chmod(dir, DATA_DIR_MODE);
}

/**
 * Writes a secret file with mode 0600 in a private DATA_DIR. Written beside it and renamed over it, so a file that
 * existed with a wider mode (or a symlink planted there) is replaced, never written through.
 */
export async function writeSecretFile(file: string, content: string): Promise<void> {
  await privateDir(dirname(file));
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  const handle = await open(tmp, 'wx', SECRET_FILE_MODE);
  try {
    await handle.writeFile(content);
    // The umask may have taken bits off the mode open() asked for; this is exact.
    await handle.chmod(SECRET_FILE_MODE);
  } finally {
    await handle.close();
  }
  await rename(tmp, file).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
}

export interface ApiTokens {
  tokens: TokenEntry[];
  /** Set when no token was configured and one was made for this run (printed once, kept in DATA_DIR). */
  generated?: { token: string; file: string };
}

/**
 * The API always wants a token. With none configured it makes an admin token for this run — but only when it
 * listens on loopback: on any other address a forgotten ACCESS_FILE must stop start-up, not open the fleet.
 */
export async function apiTokens(access: AccessFile, host: string, dataDir: string): Promise<ApiTokens> {
  if (access.tokens.length > 0) return { tokens: access.tokens };
  if (!isLoopback(host)) {
    throw new Error(`HOST=${host} is not loopback and no API token is configured: set ACCESS_FILE (see README, "Access control")`);
  }
  const token = generateToken();
  const file = resolve(dataDir, 'admin-token');
  await writeSecretFile(file, `${token}\n`);
  return { tokens: [{ name: 'local-admin', sha256: hashToken(token), scopes: ['admin'] }], generated: { token, file } };
}

/** LINK_SECRET, or one generated once and kept in DATA_DIR so links stay valid across restarts of `npm start`. */
export async function linkSecret(configured: string | undefined, dataDir: string): Promise<string> {
  if (configured) return configured;
  const file = resolve(dataDir, 'link-secret');
  await privateDir(dataDir);
  try {
    // Not through a symlink: whatever one points at is not our secret, and must not be chmod-ed.
    const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const kept = (await handle.readFile('utf8')).trim();
      if (kept.length >= 32) {
        // Kept from an earlier run, perhaps by a version (or an operator) that left it readable by others.
        await handle.chmod(SECRET_FILE_MODE);
        return kept;
      }
    } finally {
      await handle.close();
    }
  } catch {
    // first start (or not a plain file): make one below
  }
  const s = randomBytes(32).toString('base64url');
  await writeSecretFile(file, `${s}\n`);
  return s;
}
