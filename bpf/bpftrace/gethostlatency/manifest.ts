import { z } from 'zod';
import { defineBpftraceTool } from '../define.ts';
import { parseGethostlatency } from './parser.ts';
import { GethostlatencyResult } from './result.ts';

export const GethostlatencyParams = z
  .object({
    /** How many processes the result keeps, slowest lookup first (the kernel counts them all). */
    maxProcesses: z.number().int().min(1).max(1000).default(50),
    /** How many host names each process keeps, slowest first. */
    hostsPerProcess: z.number().int().min(1).max(64).default(8),
  })
  .strict();
export type GethostlatencyParams = z.output<typeof GethostlatencyParams>;

export const gethostlatency = defineBpftraceTool({
  name: 'gethostlatency',
  description:
    "Times name lookups through the C library (getaddrinfo, gethostbyname, gethostbyname2) per process, with the host names looked up and how each ended (EAI_* codes): slow or failing DNS as the application sees it.",
  params: GethostlatencyParams,
  variants: [
    {
      name: 'uprobe',
      requires: [{ kind: 'uprobe' }],
      description: "uprobes and uretprobes on libc's getaddrinfo, gethostbyname and gethostbyname2 (the node's libc, found through its linker cache)",
    },
  ],
  defaultVariant: 'uprobe',
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 },
  // Host names up to 200 bytes (a DNS name has at most 253).
  env: { BPFTRACE_STRLEN: '200' },
  manifestUrl: import.meta.url,
  parse: (stdout, params, ctx) => ({ result: parseGethostlatency(stdout, params, ctx) }),
  result: GethostlatencyResult,
});
