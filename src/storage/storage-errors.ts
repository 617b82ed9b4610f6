/**
 * Why an object-storage call failed, in the terms an operator acts on. Reasons reach investigation records, chat
 * and logs read by people who never see the agent: they are words, never an errno.
 */
export type StorageFailure =
  | { kind: 'unreachable' }
  | { kind: 'timeout' }
  /** S3 answered with an HTTP error: 4xx refused (credentials, policy, bucket), 5xx failed. */
  | { kind: 'answered'; status: number }
  /** Anything else, e.g. an answer that is not S3's: the log has the details. */
  | { kind: 'other' };

/** Socket errors that mean "nobody took the call": nothing there, a reset, a name that does not resolve. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ECONNABORTED',
  'ERR_SOCKET_CLOSED',
]);

function codeOf(err: unknown, depth = 0): string | undefined {
  if (err === null || typeof err !== 'object' || depth > 5) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') return e.code;
  // Node's happy-eyeballs connect throws an AggregateError of one error per address tried.
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const c = codeOf(inner, depth + 1);
      if (c) return c;
    }
  }
  return codeOf(e.cause, depth + 1);
}

/**
 * The HTTP status of an error S3 answered with (the SDK's S3ServiceException), undefined for anything else. Told
 * apart by shape, not `instanceof`: the SDK is loaded only once storage is first used (artifact-store.ts), and a
 * check here must not load it.
 */
export function s3ErrorStatus(err: unknown): number | undefined {
  if (!(err instanceof Error) || !('$fault' in err) || !('$metadata' in err)) return undefined;
  const meta = err.$metadata as { httpStatusCode?: unknown } | undefined;
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

export function classifyStorageError(err: unknown): StorageFailure {
  const status = s3ErrorStatus(err);
  if (status !== undefined && status >= 400) return { kind: 'answered', status };
  const code = codeOf(err);
  // The SDK renames ECONNRESET and EPIPE to "TimeoutError": look at the code first, a reset is not a stall.
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return { kind: 'unreachable' };
  const name = err instanceof Error ? err.name : '';
  if (code === 'ETIMEDOUT' || name === 'TimeoutError' || name === 'AbortError' || name === 'RequestTimeout') return { kind: 'timeout' };
  return { kind: 'other' };
}

/**
 * "object storage unreachable" | "object storage timed out" | "object storage refused the upload (HTTP 403)" |
 * "object storage failed the upload (HTTP 503)" | "object storage failed the upload". `action` names the call.
 */
export function describeStorageError(err: unknown, action = 'request'): string {
  return describeStorageFailure(classifyStorageError(err), action);
}

export function describeStorageFailure(f: StorageFailure, action = 'request'): string {
  switch (f.kind) {
    case 'unreachable':
      return 'object storage unreachable';
    case 'timeout':
      return 'object storage timed out';
    case 'answered':
      return `object storage ${f.status < 500 ? 'refused' : 'failed'} the ${action} (HTTP ${f.status})`;
    case 'other':
      return `object storage failed the ${action}`;
  }
}
