import { createHash, timingSafeEqual } from 'node:crypto';

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export const bearerToken = (header: string | undefined): string | undefined => (header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined);

/**
 * Compares two secrets in constant time whatever their lengths: both are hashed first, so neither the content nor
 * the length of the expected one leaks through timing.
 */
export function sameSecret(presented: string, expected: string): boolean {
  const digest = (v: string) => createHash('sha256').update(v, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
