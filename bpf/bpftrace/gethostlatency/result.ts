/** gethostlatency's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';
import { HistogramSummary } from '../../histogram.ts';

/** How lookups ended: getaddrinfo's EAI_* name (EAI_NONAME, EAI_AGAIN, …), or FAILED for gethostbyname(2)'s NULL. */
export const LookupError = z.object({ error: z.string(), count: z.number().int() });

/** One host name a process looked up. */
export const HostLookups = z.object({
  /** As passed to the library, cut at 200 bytes; "" for getaddrinfo(NULL, service, …). */
  host: z.string(),
  lookups: z.number().int(),
  failures: z.number().int(),
  /** The slowest of its lookups, in microseconds. */
  maxUs: z.number().int(),
  errors: z.array(LookupError),
});
export type HostLookups = z.infer<typeof HostLookups>;

/** One process (pid, cgroup, comm) and its lookups during the capture. */
export const LookupProcess = z.object({
  pid: z.number().int(),
  comm: z.string(),
  cgroupId: z.number().int(),
  /** The cgroup's path below the node's cgroup v2 root, when the agent could find it. */
  cgroup: z.string().nullable(),
  pod: z.string().nullable(),
  lookups: z.number().int(),
  failures: z.number().int(),
  /** The slowest lookup, in microseconds (exact, from the kernel's max()). */
  maxUs: z.number().int(),
  /** Call-to-return latency in microseconds (log2 histogram and estimates from it). */
  latency: HistogramSummary,
  /** Its host names, slowest first, at most the `hostsPerProcess` param. */
  hosts: z.array(HostLookups),
  distinctHosts: z.number().int(),
});
export type LookupProcess = z.infer<typeof LookupProcess>;

export const GethostlatencyResult = z.object({
  /** Slowest first, at most the `maxProcesses` param. */
  processes: z.array(LookupProcess),
  distinctProcesses: z.number().int(),
  totalLookups: z.number().int(),
  totalFailures: z.number().int(),
  /** The slowest lookup of all, in microseconds; 0 when there was none. */
  maxUs: z.number().int(),
});
export type GethostlatencyResult = z.infer<typeof GethostlatencyResult>;
