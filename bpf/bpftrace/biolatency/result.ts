/** biolatency's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';
import { HistogramSummary } from '../../histogram.ts';

/** In the program's op-code order (the first letter of rwbs: R, W, F, D; anything else is 0): the parser indexes it. */
export const BlockOp = z.enum(['other', 'read', 'write', 'flush', 'discard']);
export type BlockOp = z.infer<typeof BlockOp>;

export const BiolatencyRow = HistogramSummary.extend({
  /** Name under /dev, or null when the device is gone by the time the result is read. */
  device: z.string().nullable(),
  major: z.number().int(),
  minor: z.number().int(),
  op: BlockOp,
  /** Completions of these requests that reported an error (they are in the histogram too). */
  errors: z.number().int().nonnegative(),
});
export type BiolatencyRow = z.infer<typeof BiolatencyRow>;

/** Device times (every device and op merged) of the requests one cgroup submitted: per-pod figures of one capture. */
export const BiolatencyCgroup = HistogramSummary.extend({
  cgroupId: z.number().int(),
  /** The cgroup's path below the node's cgroup v2 root, when the agent could find it. */
  cgroup: z.string().nullable(),
  pod: z.string().nullable(),
});
export type BiolatencyCgroup = z.infer<typeof BiolatencyCgroup>;

export const BiolatencyResult = z.object({
  unit: z.literal('us'),
  /** Worst tail first: p99 descending, then count descending, then major, minor and op. */
  rows: z.array(BiolatencyRow),
  totalRequests: z.number().int().nonnegative(),
  totalErrors: z.number().int().nonnegative(),
  /**
   * By submitting cgroup, most requests first; absent when no request completed (and in results of the program
   * before it keyed by cgroup).
   */
  cgroups: z.array(BiolatencyCgroup).optional(),
});
export type BiolatencyResult = z.infer<typeof BiolatencyResult>;
