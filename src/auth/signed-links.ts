import { createHmac, timingSafeEqual } from 'node:crypto';
import { INVESTIGATION_ID_PART } from '../core/ids.ts';

/**
 * HMAC-signed, expiring API links, so that a button in Slack opens a report without an API token. The signature
 * covers the path and the expiry; nothing else in the URL grants anything. Only GETs of paths that
 * `isLinkablePath` accepts honour a signature.
 */
const mac = (secret: string, path: string, exp: number) =>
  createHmac('sha256', secret).update(`GET\n${path}\n${exp}`).digest('base64url');

const LINKABLE = [
  new RegExp(`^/v1/investigations/${INVESTIGATION_ID_PART}/report$`),
  new RegExp(`^/v1/investigations/${INVESTIGATION_ID_PART}/artifacts/[^?#]+$`),
];

/** Who a signed link's holder is: the requester of what it reads, and how the API knows a page came through one. */
export const LINK_REQUESTER = 'link';

export const isLinkablePath = (path: string) => LINKABLE.some((re) => re.test(path));

export function signPath(secret: string, path: string, expiresAtSec: number): string {
  if (!isLinkablePath(path)) throw new Error(`not a linkable path: ${path}`);
  return `${path}?exp=${expiresAtSec}&sig=${mac(secret, path, expiresAtSec)}`;
}

export type LinkCheck = { ok: true } | { ok: false; reason: 'not linkable' | 'malformed' | 'expired' | 'bad signature' };

export function verifySignedPath(secret: string, path: string, exp: string | undefined, sig: string | undefined, nowSec: number): LinkCheck {
  if (!isLinkablePath(path)) return { ok: false, reason: 'not linkable' };
  if (!exp || !/^\d{1,12}$/.test(exp) || !sig || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(mac(secret, path, Number(exp)));
  if (!timingSafeEqual(expected, Buffer.from(sig))) return { ok: false, reason: 'bad signature' };
  if (Number(exp) < nowSec) return { ok: false, reason: 'expired' };
  return { ok: true };
}

/** Builds absolute signed URLs under the public base URL users can reach. */
export class LinkSigner {
  constructor(
    private readonly secret: string,
    /** A function when the URL is known only once the server listens (PORT=0): the signer is built before that. */
    private readonly publicBaseUrl: string | (() => string),
    private readonly ttlSec: number,
  ) {}

  url(path: string, nowSec = Math.floor(Date.now() / 1000)): string {
    const base = typeof this.publicBaseUrl === 'string' ? this.publicBaseUrl : this.publicBaseUrl();
    return base.replace(/\/+$/, '') + signPath(this.secret, path, nowSec + this.ttlSec);
  }

  /**
   * The artifact links of a report page opened through a signed link, signed to expire with that link: the page is
   * rendered once and stored, so its links carry no signature, and one that outlived the report's would widen it.
   * Only hrefs of this investigation's artifacts are touched; they are same-origin paths the renderer wrote.
   */
  signReportLinks(html: string, investigationId: string, expiresAtSec: number): string {
    const prefix = `/v1/investigations/${investigationId}/artifacts/`;
    // An evidence link may carry the part it points at (?pointer=…, ?lines=…): kept after the signature, unsigned.
    return html.replace(/href="([^"?#]+)(?:\?([^"#]*))?"/g, (whole, href: string, query: string | undefined) => {
      const path = href.replace(/&amp;/g, '&');
      if (!path.startsWith(prefix) || !isLinkablePath(path)) return whole;
      return `href="${signPath(this.secret, path, expiresAtSec).replace(/&/g, '&amp;')}${query ? `&amp;${query}` : ''}"`;
    });
  }
}
