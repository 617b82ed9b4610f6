import { mergeHistograms, readHistMap, summarize } from '../../histogram.ts';
import type { ParseContext } from '../../tool.ts';
import type { RunqlatCgroup, RunqlatResult } from './result.ts';

/** The map the program fills: cgroup id → hist of run-queue delays in microseconds. */
export const MAP_NAME = '@usecs';

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
