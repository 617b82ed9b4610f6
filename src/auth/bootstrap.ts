import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { AccessFile } from './access-file.ts';
import { generateToken, hashToken, type TokenEntry } from './tokens.ts';

export const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

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
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return { tokens: [{ name: 'local-admin', sha256: hashToken(token), scopes: ['admin'] }], generated: { token, file } };
}

/** LINK_SECRET, or one generated once and kept in DATA_DIR so links stay valid across restarts of `npm start`. */
export async function linkSecret(configured: string | undefined, dataDir: string): Promise<string> {
  if (configured) return configured;
  const file = resolve(dataDir, 'link-secret');
  try {
    const s = (await readFile(file, 'utf8')).trim();
    if (s.length >= 32) return s;
  } catch {
    // first start: make one below
  }
  const s = randomBytes(32).toString('base64url');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${s}\n`, { mode: 0o600 });
  return s;
}
