/** cachestat's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';

/**
 * Page cache counts as cachestat derives them (in folios): accesses = accessed - buffers, misses = added - buffers
 * (each floored at 0), hits = accesses - misses (when negative: misses = accesses, hits = 0), hitRatio = hits /
 * (hits + misses), null with neither. The total sums these per process (see the README).
 */
export const CacheCounts = z.object({
  hits: z.number().int().nonnegative(),
  misses: z.number().int().nonnegative(),
  /** Folios that went from clean to dirty: data written into the cache, to be written back. */
  dirties: z.number().int().nonnegative(),
  hitRatio: z.number().min(0).max(1).nullable(),
  /** The raw counters: folio_mark_accessed, filemap_add_folio, __folio_mark_dirty, mark_buffer_dirty calls. */
  raw: z.object({
    accessed: z.number().int().nonnegative(),
    added: z.number().int().nonnegative(),
    dirtied: z.number().int().nonnegative(),
    buffers: z.number().int().nonnegative(),
  }),
});
export type CacheCounts = z.infer<typeof CacheCounts>;

export const CachestatResult = z.object({
  /** One row per second of the capture, from 0 (the second the probes attached), empty seconds included. */
  intervals: z.array(CacheCounts.extend({ second: z.number().int().nonnegative() })),
  /** hits and misses summed over processes (all of them, not only those listed); raw and dirties over everything. */
  total: CacheCounts,
  /** Per process (pid, comm), most misses first, then most accesses (at most maxProcesses). */
  processes: z.array(CacheCounts.extend({ pid: z.number().int(), comm: z.string() })),
  distinctProcesses: z.number().int().nonnegative(),
});
export type CachestatResult = z.infer<typeof CachestatResult>;
