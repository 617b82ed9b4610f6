/**
 * Socket addresses as the sock/tcp tracepoints give them, shared by the connection tools (tcpconnect, tcpaccept):
 * programs read both families from the IPv6 fields, where the kernel stores IPv4 addresses v4-mapped.
 */
import { isIP } from 'node:net';

export const AF_INET = 2;
export const AF_INET6 = 10;

export type InetFamily = 'ipv4' | 'ipv6';

/** The socket family's name; anything but AF_INET/AF_INET6 is a program error. */
export function inetFamily(af: number, where: string): InetFamily {
  if (af === AF_INET) return 'ipv4';
  if (af === AF_INET6) return 'ipv6';
  throw new Error(`${where}: address family ${af}`);
}

const V4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * An AF_INET socket's address becomes its dotted quad again; an AF_INET6 socket keeps what it has, since a
 * v4-mapped address there is what the (dual-stack) socket really uses.
 */
export function formatInetAddress(af: number, text: string, where: string): string {
  if (isIP(text) !== 6) throw new Error(`${where}: not an address from ntop(): ${JSON.stringify(text)}`);
  const mapped = af === AF_INET ? V4_MAPPED.exec(text) : null;
  return mapped?.[1] ?? text;
}
