import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** AWS refuses a request dated further than this from its own clock (RequestTimeTooSkewed). */
const MAX_SKEW_MS = 15 * 60_000;

/**
 * The access key s3rver itself knows (it has no other account). A verified request is handed on under it; s3rver
 * only looks the key up and does not check SigV4 signatures at all (lib/middleware/authentication.js: "Signature
 * version 4 calculation is unimplemented"), so this front is what checks them.
 */
const S3RVER_ACCESS_KEY = 'S3RVER';

/** Fresh credentials for an embedded server: an AWS-shaped key id and a 40-character secret. */
export function generateS3Credentials(): S3Credentials {
  return {
    accessKeyId: `TH${randomBytes(9).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
}

class Refusal extends Error {
  constructor(
    readonly code: 'AccessDenied' | 'InvalidAccessKeyId' | 'SignatureDoesNotMatch' | 'RequestTimeTooSkewed' | 'AuthorizationHeaderMalformed',
    message: string,
  ) {
    super(message);
  }
}

/** What the signer hands a hash: text or bytes in any of their views. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData): string | Uint8Array =>
  typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/** node:crypto in the shape @smithy/signature-v4 wants (a hash, or an HMAC when given a key). */
class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

interface AuthHeader {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(value: string): AuthHeader {
  const m = /^AWS4-HMAC-SHA256 (.*)$/.exec(value.trim());
  if (!m) throw new Refusal('AccessDenied', 'only AWS Signature Version 4 (AWS4-HMAC-SHA256) is accepted');
  const parts = new Map(
    m[1]!.split(',').map((p) => {
      const eq = p.indexOf('=');
      return [p.slice(0, eq).trim(), p.slice(eq + 1).trim()] as const;
    }),
  );
  const credential = parts.get('Credential')?.split('/');
  const signedHeaders = parts.get('SignedHeaders')?.split(';');
  const signature = parts.get('Signature');
  if (!credential || credential.length !== 5 || credential[4] !== 'aws4_request' || !signedHeaders || !signature || !/^[0-9a-f]{64}$/.test(signature)) {
    throw new Refusal('AuthorizationHeaderMalformed', 'the authorization header needs Credential=<key>/<date>/<region>/s3/aws4_request, SignedHeaders and Signature');
  }
  const [accessKeyId, date, region, service] = credential as [string, string, string, string];
  return { accessKeyId, date, region, service, signedHeaders, signature };
}

/** "20260105T101500Z" → a Date, or undefined when it is not one. */
function parseAmzDate(v: string | undefined): Date | undefined {
  const m = v === undefined ? null : /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The query as the signer wants it: decoded names and values (repeated names as arrays), from the raw string. */
function parseQuery(raw: string): Record<string, string | string[]> {
  // No prototype: a parameter named "__proto__" must be a parameter like any other.
  const query = Object.create(null) as Record<string, string | string[]>;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
    } catch {
      throw new Refusal('AccessDenied', 'malformed percent-encoding in the query string');
    }
    const prev = query[name];
    query[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return query;
}

/**
 * Checks the request's AWS Signature Version 4 against `credentials`; throws a Refusal saying why not. The
 * signature is recomputed over what the client said it signed (method, path as sent, query, the signed headers and
 * the payload hash it declared). The body itself is not hashed: this authenticates who sends a request to a
 * loopback server, where nobody can alter it in flight.
 */
async function verify(req: IncomingMessage, credentials: S3Credentials, now: Date): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = parseQuery(q < 0 ? '' : url.slice(q + 1));
  // Presigned URLs and SigV2 are not used by tracehound; refusing them keeps one way in, checked here.
  if (['X-Amz-Signature', 'X-Amz-Credential', 'Signature', 'AWSAccessKeyId'].some((k) => k in query)) {
    throw new Refusal('AccessDenied', 'query-string (presigned) authentication is not accepted by this server');
  }
  const authorization = req.headers.authorization;
  if (authorization === undefined) throw new Refusal('AccessDenied', 'anonymous access is not allowed: sign requests with the credentials in DATA_DIR/s3.env');
  const auth = parseAuthorization(authorization);
  if (auth.accessKeyId !== credentials.accessKeyId) throw new Refusal('InvalidAccessKeyId', 'the access key id you provided does not exist on this server');
  for (const h of ['host', 'x-amz-date', 'x-amz-content-sha256']) {
    if (!auth.signedHeaders.includes(h)) throw new Refusal('AccessDenied', `the signature must cover the ${h} header`);
  }
  const amzDate = typeof req.headers['x-amz-date'] === 'string' ? req.headers['x-amz-date'] : undefined;
  const signedAt = parseAmzDate(amzDate);
  if (!signedAt || amzDate!.slice(0, 8) !== auth.date || auth.service !== 's3') {
    throw new Refusal('AuthorizationHeaderMalformed', 'x-amz-date must be yyyyMMddTHHmmssZ on the credential scope\'s date, for service s3');
  }
  if (Math.abs(now.getTime() - signedAt.getTime()) > MAX_SKEW_MS) {
    throw new Refusal('RequestTimeTooSkewed', 'the difference between the request time and the server\'s time is too large');
  }

  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const v = req.headers[name];
    if (v !== undefined) headers[name] = Array.isArray(v) ? v.join(',') : v;
  }
  const host = headers.host ?? '';
  const signer = new SignatureV4({ credentials, region: auth.region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign(
    { method: req.method ?? 'GET', protocol: 'http:', hostname: host, path, query, headers },
    { signingDate: signedAt, signableHeaders: new Set(auth.signedHeaders) },
  );
  const expected = parseAuthorization(String(signed.headers.authorization));
  const ok =
    expected.signedHeaders.join(';') === auth.signedHeaders.join(';') &&
    timingSafeEqual(Buffer.from(expected.signature, 'hex'), Buffer.from(auth.signature, 'hex'));
  if (!ok) throw new Refusal('SignatureDoesNotMatch', 'the request signature we calculated does not match the signature you provided');
}

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function refuse(req: IncomingMessage, res: ServerResponse, err: Refusal): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message><Resource>${xmlEscape((req.url ?? '/').split('?')[0]!)}</Resource><RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>\n`;
  // The request body (an upload) is not read: close the connection rather than parse past it.
  res.writeHead(403, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * An HTTP handler that lets through only requests signed (AWS SigV4) with `credentials`, and hands them to
 * `next` (s3rver's Koa callback) under the one access key s3rver knows. Anything else gets 403 with an S3 XML error.
 */
export function s3AuthFront(credentials: S3Credentials, next: RequestListener, onRefused?: (code: string, message: string) => void): RequestListener {
  return (req, res) => {
    verify(req, credentials, new Date()).then(
      () => {
        req.headers.authorization = req.headers.authorization!.replace(/Credential=[^/]+\//, `Credential=${S3RVER_ACCESS_KEY}/`);
        next(req, res);
      },
      (err: unknown) => {
        const refusal = err instanceof Refusal ? err : new Refusal('AccessDenied', `could not check the signature: ${(err as Error).message}`);
        onRefused?.(refusal.code, refusal.message);
        refuse(req, res, refusal);
      },
    );
  };
}
