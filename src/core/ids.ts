import { randomBytes } from 'node:crypto';
import { z } from 'zod';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/** Time-sortable id (50-bit ms timestamp + 80 random bits, Crockford base32), so ids list newest-first by sort. */
export function newInvestigationId(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let r = '';
  for (const byte of randomBytes(16)) r += CROCKFORD[byte & 31];
  return `inv_${time}${r}`;
}

/** An id as newInvestigationId writes it, unanchored: for patterns that embed one (signed-link paths, text). */
export const INVESTIGATION_ID_PART = 'inv_[0-9a-z]{26}';
/** The whole string is an id: route parameters, cursors, storage and queue keys. */
export const INVESTIGATION_ID = new RegExp(`^${INVESTIGATION_ID_PART}$`);

export const InvestigationId = z.string().regex(INVESTIGATION_ID, 'not an investigation id');
