import { isIP } from 'node:net';

/**
 * A host name or address that only reaches this machine: 127.0.0.0/8, ::1 or "localhost". Embedded servers
 * without real authentication, the generated admin token and plain-http notification targets are allowed only
 * there. IPv6 literals may come with the brackets a URL puts around them.
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}
