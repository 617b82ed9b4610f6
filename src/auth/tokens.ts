import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { PlaybookName } from '../core/investigation.ts';
import { NamespaceName } from '../core/target.ts';
import { Scope } from './identity.ts';

/**
 * API tokens are 32 random bytes, so a plain SHA-256 is enough to store them: there is nothing to brute-force that
 * a slow hash would protect (unlike passwords). The prefix makes leaked tokens easy to spot by secret scanners.
 */
export const TOKEN_PREFIX = 'th_';

export const generateToken = (): string => TOKEN_PREFIX + randomBytes(32).toString('base64url');

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

export const TokenEntry = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'expected a short name such as "ci-bot"'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the token\'s SHA-256 in hex (tracehound token create prints it)'),
    scopes: z.array(Scope).min(1),
    /** Only pods and namespaces in these namespaces may be targeted, and only their investigations read. */
    namespaces: z.array(NamespaceName).min(1).optional(),
    playbooks: z.array(PlaybookName).min(1).optional(),
  })
  .strict();
export type TokenEntry = z.infer<typeof TokenEntry>;

/** Finds the entry whose hash matches, comparing every entry in constant time so timing says nothing. */
export function findToken(entries: readonly TokenEntry[], presented: string): TokenEntry | null {
  const hash = Buffer.from(hashToken(presented), 'hex');
  let found: TokenEntry | null = null;
  for (const e of entries) {
    if (timingSafeEqual(hash, Buffer.from(e.sha256, 'hex')) && !found) found = e;
  }
  return found;
}
