/** tcpretrans's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';

const StateCount = z.object({
  /** Kernel name of the socket state at the retransmission: TCP_ESTABLISHED, TCP_SYN_SENT, ... */
  state: z.string(),
  count: z.number().int(),
});

/** One connection, as the local socket sees it: s* is this side, d* the peer. */
export const TcpRetransFlow = z.object({
  family: z.enum(['ipv4', 'ipv6']),
  saddr: z.string(),
  sport: z.number().int(),
  daddr: z.string(),
  dport: z.number().int(),
  /** cgroup of the socket (of the process that created it); 0 when the socket has none. */
  cgroupId: z.number().int(),
  cgroup: z.string().nullable(),
  count: z.number().int(),
  states: z.array(StateCount),
});
export type TcpRetransFlow = z.infer<typeof TcpRetransFlow>;

export const TcpretransResult = z.object({
  total: z.number().int(),
  /** The `maxFlows` flows with the most retransmissions. */
  flows: z.array(TcpRetransFlow),
  distinctFlows: z.number().int(),
  /** All retransmissions by socket state. */
  byState: z.array(StateCount),
});
export type TcpretransResult = z.infer<typeof TcpretransResult>;
