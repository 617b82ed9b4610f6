import { z } from 'zod';
import { defineBpftraceTool } from '../define.ts';
import { parseTcpconnect } from './parser.ts';
import { TcpconnectResult } from './result.ts';

export const TcpconnectParams = z
  .object({
    /** How many (process, destination) targets the result keeps, most failures first (the kernel counts them all). */
    maxTargets: z.number().int().min(1).max(1000).default(50),
  })
  .strict();
export type TcpconnectParams = z.output<typeof TcpconnectParams>;

export const tcpconnect = defineBpftraceTool({
  name: 'tcpconnect',
  description:
    'Active TCP connects per process and destination (sock:inet_sock_set_state): attempts, established with latency, refused, timed out and other failures by errno, filtered by the socket cgroup and pid.',
  params: TcpconnectParams,
  // BTF: the socket's cgroup and error are read through struct sock.
  requires: [{ kind: 'btf' }, { kind: 'tracepoint', name: 'sock/inet_sock_set_state' }],
  defaultDescription:
    'tracepoint sock:inet_sock_set_state: CLOSE→SYN_SENT inside connect() (pid, comm), SYN_SENT→ESTABLISHED or →CLOSE with the socket error',
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 },
  manifestUrl: import.meta.url,
  parse: (stdout, params, ctx) => ({ result: parseTcpconnect(stdout, params.maxTargets, ctx) }),
  result: TcpconnectResult,
});
