/** tcpconnect's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';
import { HistogramSummary } from '../../histogram.ts';

/** A way connects failed: the socket's error when it left SYN_SENT for CLOSE. */
export const ConnectFailure = z.object({
  /** errno number; 0: no error was set (the application closed the socket first, or no local port was free). */
  errno: z.number().int(),
  /** ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, …; "closed" for errno 0. */
  error: z.string(),
  count: z.number().int(),
});
export type ConnectFailure = z.infer<typeof ConnectFailure>;

/** One process connecting to one destination from one socket cgroup. */
export const ConnectTarget = z.object({
  comm: z.string(),
  /** The connecting process (thread group id), as it was when connect() sent the SYN. */
  pid: z.number().int(),
  cgroupId: z.number().int(),
  cgroup: z.string().nullable(),
  family: z.enum(['ipv4', 'ipv6']),
  daddr: z.string(),
  dport: z.number().int(),
  /** SYNs sent by connect() during the capture. */
  attempts: z.number().int(),
  established: z.number().int(),
  /** RST in reply to the SYN (ECONNREFUSED). */
  refused: z.number().int(),
  /** The kernel gave up after its SYN retransmits (ETIMEDOUT). */
  timedOut: z.number().int(),
  /** Every failure by error, most frequent first (refused and timedOut included). */
  failures: z.array(ConnectFailure),
  /** attempts − established − failed: still in SYN_SENT when the capture ended (or left it otherwise). */
  pending: z.number().int(),
  /** SYN_SENT → ESTABLISHED in µs, from a log2 histogram; null when none was established. */
  latencyUs: HistogramSummary.nullable(),
  /** The slowest established connect, exact, in µs. */
  maxLatencyUs: z.number().int().nullable(),
  /** The longest time a failed connect took to fail, in µs (for timeouts: the SYN retransmits' sum). */
  maxFailureUs: z.number().int().nullable(),
});
export type ConnectTarget = z.infer<typeof ConnectTarget>;

export const TcpconnectResult = z.object({
  attempts: z.number().int(),
  established: z.number().int(),
  refused: z.number().int(),
  timedOut: z.number().int(),
  /** All failures (refused, timed out and the rest). */
  failed: z.number().int(),
  failures: z.array(ConnectFailure),
  /** Every established connect's latency, merged. */
  latencyUs: HistogramSummary.nullable(),
  /** The `maxTargets` targets with the most failures, then the most attempts. */
  targets: z.array(ConnectTarget),
  distinctTargets: z.number().int(),
});
export type TcpconnectResult = z.infer<typeof TcpconnectResult>;
