import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Slack request signing, as documented in "Verifying requests from Slack"
 * (https://api.slack.com/authentication/verifying-requests-from-slack): the base string is
 * `v0:<X-Slack-Request-Timestamp>:<raw body>`, signed with HMAC-SHA256 keyed by the app's signing secret, and sent
 * hex-encoded as `X-Slack-Signature: v0=<hex>`. The timestamp is part of what is signed so that a captured request
 * cannot be replayed later; Slack suggests refusing requests more than five minutes away from the local clock.
 */

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export interface SlackSignatureInput {
  signingSecret: string;
  /** The X-Slack-Request-Timestamp header: Unix seconds. */
  timestamp: string | undefined;
  /** The X-Slack-Signature header: "v0=" and 64 lowercase hex digits. */
  signature: string | undefined;
  /** The body exactly as received, before any form or JSON parsing. */
  rawBody: string;
  nowSec: number;
  toleranceSec?: number;
}

const VERSION = 'v0';
const DEFAULT_TOLERANCE_SEC = 300;

export function signSlackRequest(signingSecret: string, timestamp: string | number, rawBody: string): string {
  const hmac = createHmac('sha256', signingSecret).update(`${VERSION}:${timestamp}:${rawBody}`, 'utf8');
  return `${VERSION}=${hmac.digest('hex')}`;
}

/** Reasons are short and fixed, for logs and metrics: they never echo the secret, the expected digest or the body. */
export function verifySlackSignature(input: SlackSignatureInput): SignatureCheck {
  const tolerance = input.toleranceSec ?? DEFAULT_TOLERANCE_SEC;
  // An empty key would make every signature forgeable by anyone who knows the scheme: refuse to verify against it.
  if (input.signingSecret.length === 0) return { ok: false, reason: 'no signing secret' };
  if (input.timestamp === undefined || input.timestamp === '') return { ok: false, reason: 'missing timestamp' };
  if (input.signature === undefined || input.signature === '') return { ok: false, reason: 'missing signature' };

  if (!/^\d{1,15}$/.test(input.timestamp)) return { ok: false, reason: 'bad timestamp' };
  const ts = Number(input.timestamp);
  if (!Number.isFinite(tolerance) || tolerance < 0 || !Number.isFinite(input.nowSec)) {
    return { ok: false, reason: 'bad clock' };
  }
  if (input.nowSec - ts > tolerance) return { ok: false, reason: 'stale timestamp' };
  if (ts - input.nowSec > tolerance) return { ok: false, reason: 'future timestamp' };

  if (!/^v0=[0-9a-f]+$/.test(input.signature)) return { ok: false, reason: 'malformed signature' };
  const expected = Buffer.from(signSlackRequest(input.signingSecret, input.timestamp, input.rawBody), 'utf8');
  const given = Buffer.from(input.signature, 'utf8');
  // timingSafeEqual throws on buffers of different lengths; a wrong length is simply a wrong signature.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' };
  return { ok: true };
}
