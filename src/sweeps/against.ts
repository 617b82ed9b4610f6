/** Any investigation's figures against a node's health sweeps: the same baseline and rules as sweep-to-sweep. */
import { z } from 'zod';
import type { Investigation } from '../core/investigation.ts';
import { NodeBaseline, nodeBaseline } from './baseline.ts';
import { SweepRef } from './compare.ts';
import { NodeFigures, answered, sweepFigures } from './figures.ts';
import { Change, SweepCompareOptions, figureChanges } from './rules.ts';

/** At most this many sweeps make a baseline, as a sweep is compared with its schedule's last five. */
export const BASELINE_SWEEPS = 5;

export const NodeAgainstSweeps = z.object({
  node: z.string(),
  /** The schedule whose runs the baseline comes from (null: sweeps not started by a schedule). */
  schedule: z.string().nullable(),
  /** The sweeps the baseline rests on, newest first. */
  sweeps: z.array(SweepRef),
  current: NodeFigures,
  baseline: NodeBaseline,
  /** What differs from the baseline, by the sweep comparison's own rules (rules.ts). */
  changes: z.array(Change),
});
export type NodeAgainstSweeps = z.infer<typeof NodeAgainstSweeps>;

const ref = (inv: Investigation): SweepRef => ({ id: inv.id, createdAt: inv.createdAt, finishedAt: inv.finishedAt ?? null });

/**
 * Per node of `current`, its figures against the node's baseline from `sweeps` (health sweeps, any order): the
 * schedule whose newest sweep measured the node gives the baseline, from its last BASELINE_SWEEPS sweeps that did.
 * Nodes no sweep measured are left out: there is nothing to call normal for them.
 */
export function compareWithSweeps(
  current: Pick<Investigation, 'steps'>,
  sweeps: readonly Investigation[],
  opts: Partial<SweepCompareOptions> = {},
): NodeAgainstSweeps[] {
  const options = SweepCompareOptions.parse(opts);
  const newestFirst = [...sweeps].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  const figures = newestFirst.map((inv) => ({ inv, byNode: sweepFigures(inv) }));
  const out: NodeAgainstSweeps[] = [];
  for (const [node, cur] of sweepFigures(current)) {
    const measured = figures.filter((f) => answered(f.byNode.get(node)));
    const newest = measured[0];
    if (!newest) continue;
    const schedule = newest.inv.schedule ?? null;
    const used = measured.filter((f) => (f.inv.schedule ?? null) === schedule).slice(0, BASELINE_SWEEPS);
    const baseline = nodeBaseline(used.map((f) => f.byNode.get(node)));
    out.push({ node, schedule, sweeps: used.map((f) => ref(f.inv)), current: cur, baseline, changes: figureChanges(cur, baseline, options) });
  }
  return out;
}
