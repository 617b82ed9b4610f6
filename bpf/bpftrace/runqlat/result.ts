/** runqlat's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';
import { HistogramSummary } from '../../histogram.ts';

export const RunqlatCgroup = HistogramSummary.extend({
  cgroupId: z.number().int(),
  /** The cgroup's path below the node's cgroup v2 root, when the agent could find it. */
  cgroup: z.string().nullable(),
  pod: z.string().nullable(),
});
export type RunqlatCgroup = z.infer<typeof RunqlatCgroup>;

export const RunqlatResult = z.object({
  unit: z.literal('us'),
  /** Worst tail first: p99 descending, then count descending, then cgroup id. */
  cgroups: z.array(RunqlatCgroup),
  /** Every cgroup's histogram merged: the node-wide (or target-wide, when filtered) distribution. */
  all: HistogramSummary,
});
export type RunqlatResult = z.infer<typeof RunqlatResult>;
