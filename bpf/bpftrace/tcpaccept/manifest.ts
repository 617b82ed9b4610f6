import { z } from 'zod';
import { defineBpftraceTool } from '../define.ts';
import { parseTcpaccept } from './parser.ts';
import { TcpacceptResult } from './result.ts';

export const TcpacceptParams = z
  .object({
    /** How many listeners and how many acceptors the result keeps, most overflows/handshakes/accepts first. */
    maxRows: z.number().int().min(1).max(1000).default(50),
  })
  .strict();
export type TcpacceptParams = z.output<typeof TcpacceptParams>;

const TRACEPOINTS = [
  { kind: 'tracepoint', name: 'sock/inet_sock_set_state' },
  { kind: 'tracepoint', name: 'syscalls/sys_exit_accept4' },
  { kind: 'tracepoint', name: 'syscalls/sys_exit_accept' },
] as const;

export const tcpaccept = defineBpftraceTool({
  name: 'tcpaccept',
  description:
    'Passive TCP connections per listening port and accepting process: handshakes completed, accepts, accept-queue wait (handshake → accept()), and listen overflows (SYNs dropped on a full accept queue) where kprobes exist; filtered by the socket cgroup and pid.',
  params: TcpacceptParams,
  // BTF: the socket's cgroup, the accepted descriptor's socket and the listener's queue are read through kernel structs.
  requires: [{ kind: 'btf' }, ...TRACEPOINTS],
  variants: [
    {
      name: 'kprobe',
      requires: [{ kind: 'kprobe', function: 'tcp_conn_request' }],
      description:
        'the tracepoint variant plus kprobe:tcp_conn_request, where a SYN to a listener whose accept queue is full (sk_ack_backlog > sk_max_ack_backlog) is dropped: listen overflows per port',
    },
    {
      name: 'tracepoint',
      description:
        'sock:inet_sock_set_state (child SYN_RECV→ESTABLISHED) and syscalls accept/accept4 exits (descriptor → socket): no listen overflows, which no tracepoint shows',
    },
  ],
  defaultVariant: 'tracepoint',
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 },
  manifestUrl: import.meta.url,
  parse: (stdout, params, ctx) => ({ result: parseTcpaccept(stdout, params.maxRows, ctx) }),
  result: TcpacceptResult,
});
