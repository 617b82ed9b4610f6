/** tcpaccept's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';
import { HistogramSummary } from '../../histogram.ts';

/** One listening port (of one socket cgroup): what arrived, and, where the variant can tell, what was dropped. */
export const TcpListener = z.object({
  family: z.enum(['ipv4', 'ipv6']),
  port: z.number().int(),
  cgroupId: z.number().int(),
  cgroup: z.string().nullable(),
  /** Connections whose handshake completed (child socket SYN_RECV → ESTABLISHED), now in the accept queue. */
  handshakes: z.number().int(),
  /** Of them and of older ones, how many a process accepted during the capture. */
  accepted: z.number().int(),
  /** SYNs dropped because the accept queue was full (kprobe variant); null where the variant cannot see them. */
  overflows: z.number().int().nullable(),
  /** The listener's backlog (listen() argument, capped by somaxconn) when it overflowed; null otherwise. */
  backlog: z.number().int().nullable(),
});
export type TcpListener = z.infer<typeof TcpListener>;

/** One process accepting on one local port. */
export const TcpAcceptor = z.object({
  comm: z.string(),
  pid: z.number().int(),
  family: z.enum(['ipv4', 'ipv6']),
  port: z.number().int(),
  cgroupId: z.number().int(),
  cgroup: z.string().nullable(),
  accepted: z.number().int(),
  /** Time in the accept queue (handshake complete → accept() returned it), µs, for connections whose handshake the capture saw. */
  waitUs: HistogramSummary.nullable(),
  /** The longest such wait, exact, in µs. */
  maxWaitUs: z.number().int().nullable(),
});
export type TcpAcceptor = z.infer<typeof TcpAcceptor>;

export const TcpacceptResult = z.object({
  handshakes: z.number().int(),
  accepted: z.number().int(),
  /** All listen overflows seen; null when the variant that ran cannot see them (tracepoint). */
  overflows: z.number().int().nullable(),
  /** Every accept-queue wait, merged. */
  waitUs: HistogramSummary.nullable(),
  /** The `maxRows` listeners with the most overflows, then handshakes. */
  listeners: z.array(TcpListener),
  distinctListeners: z.number().int(),
  /** The `maxRows` acceptors that accepted most. */
  acceptors: z.array(TcpAcceptor),
  distinctAcceptors: z.number().int(),
});
export type TcpacceptResult = z.infer<typeof TcpacceptResult>;
