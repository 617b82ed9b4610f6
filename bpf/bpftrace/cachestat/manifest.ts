import { z } from 'zod';
import { defineBpftraceTool } from '../define.ts';
import { parseCachestat } from './parser.ts';
import { CachestatResult } from './result.ts';

export const CachestatParams = z
  .object({
    /** How many processes the result lists, most misses first (the kernel counts them all). */
    maxProcesses: z.number().int().min(1).max(1_000).default(20),
  })
  .strict();
export type CachestatParams = z.output<typeof CachestatParams>;

/** The folio functions the program probes: kernels from 5.16 on (6.1, 6.12); older ones had page functions. */
const FOLIO_FUNCTIONS = ['folio_mark_accessed', 'filemap_add_folio', '__folio_mark_dirty', 'mark_buffer_dirty'];

export const cachestat = defineBpftraceTool({
  name: 'cachestat',
  description: 'Page cache hits, misses and dirtied pages per second and per process, with the hit ratio (cachestat, on the folio functions).',
  params: CachestatParams,
  variants: [
    {
      name: 'kprobe',
      requires: [{ kind: 'kernel', min: '5.16' }, ...FOLIO_FUNCTIONS.map((f) => ({ kind: 'kprobe' as const, function: f }))],
      description: 'kprobes on folio_mark_accessed, filemap_add_folio, __folio_mark_dirty, mark_buffer_dirty (kernel 5.16 and later)',
    },
  ],
  defaultVariant: 'kprobe',
  // Keyed by second (at most 120) and by process: small however busy the cache is.
  /**
   * The agent's default BPFTRACE_MAP_KEYS_MAX (65,536) made this program count nothing at all in the kernel tests on
   * 6.1 and 6.12 (three runs: empty maps, bpftrace reporting no error), while bpftrace's own default of 4,096 counted
   * every phase (three runs); why is not understood yet. 4,096 keys is one per process and second to spare.
   */
  env: { BPFTRACE_MAP_KEYS_MAX: '4096' },
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 4 * 1024 * 1024, stopGraceMs: 2_000 },
  manifestUrl: import.meta.url,
  parse: (stdout, params) => ({ result: parseCachestat(stdout, params.maxProcesses) }),
  result: CachestatResult,
});
