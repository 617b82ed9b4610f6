import { z } from 'zod';
import { HistogramSummary, mergeHistograms, readHistMap, summarize } from '../histogram.ts';
import type { ParseContext } from '../tool.ts';

/** The map the program fills: cgroup id → hist of run-queue delays in microseconds. */
export const MAP_NAME = '@usecs';

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

function byTailThenCount(a: RunqlatCgroup, b: RunqlatCgroup): number {
  return (b.p99 ?? -1) - (a.p99 ?? -1) || b.count - a.count || a.cgroupId - b.cgroupId;
}

export function parseRunqlat(stdout: string, ctx: ParseContext): RunqlatResult {
  const hists = readHistMap(stdout, MAP_NAME, 'us');
  const cgroups = Object.entries(hists).map(([key, h]): RunqlatCgroup => {
    if (!/^\d+$/.test(key)) throw new Error(`unexpected ${MAP_NAME} key ${JSON.stringify(key)}: expected a cgroup id`);
    const cgroupId = Number(key);
    // A parser knows kernel facts only; naming the pod behind a cgroup needs the node's pod inventory.
    return { cgroupId, cgroup: ctx.cgroupPathOf(cgroupId), pod: null, ...summarize(h) };
  });
  cgroups.sort(byTailThenCount);
  return { unit: 'us', cgroups, all: summarize(mergeHistograms(Object.values(hists), 'us')) };
}
