import { z } from 'zod';
import { defineBpftraceTool } from '../define.ts';
import { parseTcpretrans } from './parser.ts';
import { TcpretransResult } from './result.ts';

export const TcpretransParams = z
  .object({
    /** How many flows the result keeps, most retransmissions first (the kernel counts them all). */
    maxFlows: z.number().int().min(1).max(1000).default(50),
  })
  .strict();
export type TcpretransParams = z.output<typeof TcpretransParams>;

export const tcpretrans = defineBpftraceTool({
  name: 'tcpretrans',
  description: 'Counts TCP retransmissions per connection and socket state (tcp:tcp_retransmit_skb), filtered by the socket cgroup.',
  params: TcpretransParams,
  // BTF: the socket's cgroup is read through struct sock.
  requires: [{ kind: 'btf' }, { kind: 'tracepoint', name: 'tcp/tcp_retransmit_skb' }],
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 },
  manifestUrl: import.meta.url,
  /**
   * Only the cgroup set reaches the program: retransmissions run in softirq and timer context, so the task on the CPU
   * says nothing about the connection's owner, and a socket does not record a pid. A pid scope is not applied.
   */
  filter: 'cgroup',
  parse: (stdout, params, ctx) => ({ result: parseTcpretrans(stdout, params.maxFlows, ctx) }),
  result: TcpretransResult,
});
