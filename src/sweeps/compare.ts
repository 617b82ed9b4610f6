/** Sweep comparison: pure, but reads the tools' result schemas from bpf/, so it lives beside core rather than in it. */
import { z } from 'zod';
import type { Confidence, Finding, Investigation, Severity } from '../core/investigation.ts';
import { NodeBaseline, nodeBaseline } from './baseline.ts';
import { NodeFigures, answered, sweepFigures } from './figures.ts';
import { Change, SweepCompareOptions, changeKey, currentValue, figureChanges, figureStep } from './rules.ts';
import { changeDetail, changeTitle } from './wording.ts';

export { SweepCompareOptions, Change, ChangeKind, RESOURCE_ERRNOS } from './rules.ts';

/**
 * answered: gave figures now and in a previous sweep; new: now, never before; missing: before, not now;
 * silent: in neither (its steps ran but gave nothing).
 */
export const NodePresence = z.enum(['answered', 'new', 'missing', 'silent']);
export type NodePresence = z.infer<typeof NodePresence>;

export const NodeComparison = z.object({
  node: z.string(),
  presence: NodePresence,
  /** null when no step of this sweep ran on the node. */
  current: NodeFigures.nullable(),
  baseline: NodeBaseline,
});
export type NodeComparison = z.infer<typeof NodeComparison>;

export const SweepRef = z.object({ id: z.string(), createdAt: z.string(), finishedAt: z.string().nullable() });
export type SweepRef = z.infer<typeof SweepRef>;

/** What `comparison.json` holds: plain JSON (no Map, no Infinity, no undefined). */
export const SweepComparison = z.object({
  investigationId: z.string(),
  /** The schedule the sweeps belong to, when the investigation records it. */
  schedule: z.string().nullable(),
  /** The previous sweeps compared against, newest first. */
  previous: z.array(SweepRef),
  options: SweepCompareOptions,
  /** Every node of this sweep or of a previous one, by name. */
  nodes: z.array(NodeComparison),
  /** Most severe first, then by node and title. */
  changes: z.array(Change),
});
export type SweepComparison = z.infer<typeof SweepComparison>;

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

const byImportance = (a: Change, b: Change) =>
  SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
  (a.node ?? '').localeCompare(b.node ?? '') ||
  changeTitle(a).localeCompare(changeTitle(b));

function resolveOptions(opts: Partial<SweepCompareOptions>): SweepCompareOptions {
  const parsed = SweepCompareOptions.safeParse(opts);
  if (!parsed.success) throw new Error(`invalid sweep comparison options: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const ref = (inv: Investigation): SweepRef => ({ id: inv.id, createdAt: inv.createdAt, finishedAt: inv.finishedAt ?? null });

/**
 * Compares a finished sweep with the previous sweeps of the same schedule (newest first), node by node.
 * Pure: the same investigations and options always give the same comparison.
 */
export function compareSweep(
  current: Investigation,
  previous: readonly Investigation[],
  opts: Partial<SweepCompareOptions> = {},
): SweepComparison {
  const options = resolveOptions(opts);
  if (previous.some((p) => p.id === current.id)) {
    throw new Error(`the previous sweeps must not include the current one (${current.id})`);
  }
  const stranger = previous.find((p) => p.schedule !== undefined && current.schedule !== undefined && p.schedule !== current.schedule);
  if (stranger) {
    throw new Error(`sweep ${stranger.id} belongs to schedule ${stranger.schedule}, not to ${current.schedule}: only sweeps of one schedule compare`);
  }
  const now = sweepFigures(current);
  const before = previous.map(sweepFigures);
  const names = [...new Set([...now.keys(), ...before.flatMap((b) => [...b.keys()])])].sort((a, b) => a.localeCompare(b));

  const nodes = names.map((node): NodeComparison => {
    const cur = now.get(node);
    const baseline = nodeBaseline(before.map((b) => b.get(node)));
    const presence: NodePresence = answered(cur) ? (baseline.answered > 0 ? 'answered' : 'new') : baseline.answered > 0 ? 'missing' : 'silent';
    return { node, presence, current: cur ?? null, baseline };
  });

  let changes: Change[] = [firstSweep(nodes)];
  if (previous.length > 0) {
    changes = nodeChanges(nodes, options);
    changes.push(...backToNormal(now, before, options, new Set(changes.map(changeKey))));
  }
  // Parsing our own output puts every object's keys in schema order: the stored JSON is byte-for-byte reproducible.
  return SweepComparison.parse({
    investigationId: current.id,
    schedule: current.schedule ?? null,
    previous: previous.map(ref),
    options,
    nodes,
    changes: changes.sort(byImportance),
  });
}

function firstSweep(nodes: readonly NodeComparison[]): Change {
  const steps = new Set<string>();
  for (const n of nodes) {
    const c = n.current;
    for (const step of [c?.syscalls?.step, c?.runq?.step, c?.io?.step, c?.retrans?.step, c?.oomKills?.step]) if (step) steps.add(step);
  }
  return {
    kind: 'first-sweep', severity: 'info', node: null, subject: null, current: null, baseline: null, baselineSweeps: 0,
    recovered: null, steps: [...steps].sort(),
  };
}

function nodeChanges(nodes: readonly NodeComparison[], options: SweepCompareOptions): Change[] {
  return nodes.flatMap((n): Change[] => {
    const base = { node: n.node, subject: null, current: null, baseline: null, recovered: null } as const;
    switch (n.presence) {
      case 'new':
        return [{ ...base, kind: 'node-new', severity: 'info', baselineSweeps: 0, steps: stepsOf(n.current) }];
      case 'missing':
        return [{ ...base, kind: 'node-missing', severity: 'warning', baselineSweeps: n.baseline.answered, steps: stepsOf(n.current) }];
      case 'answered':
        return n.current ? figureChanges(n.current, n.baseline, options) : [];
      case 'silent':
        return [];
    }
  });
}

const stepsOf = (f: NodeFigures | null): string[] =>
  f === null
    ? []
    : [
        ...new Set([f.syscalls?.step, f.runq?.step, f.io?.step, f.retrans?.step, f.oomKills?.step, ...f.unmeasured.map((u) => u.step)]),
      ]
        .filter((s): s is string => s !== undefined)
        .sort();

/**
 * Kept simple: a flag that the previous sweep raised against the sweeps before it (the same rules, previous[0]
 * against previous[1..]) is reported cleared when its figure is measured now and raises no flag now. A new
 * failing syscall and OOM kills count as cleared only at zero; a missing node, when it answers again.
 */
function backToNormal(
  now: Map<string, NodeFigures>,
  before: readonly Map<string, NodeFigures>[],
  o: SweepCompareOptions,
  flaggedNow: ReadonlySet<string>,
): Change[] {
  const [last, ...older] = before;
  if (last === undefined || older.length === 0) return [];
  const nodes = [...new Set([...last.keys(), ...older.flatMap((b) => [...b.keys()])])];
  const out: Change[] = [];
  for (const node of nodes) {
    const cur = now.get(node);
    const prev = last.get(node);
    const olderBaseline = nodeBaseline(older.map((b) => b.get(node)));
    const flaggedThen: Change[] = answered(prev)
      ? figureChanges(prev, olderBaseline, o)
      : olderBaseline.answered > 0
        ? [{ kind: 'node-missing', severity: 'warning', node, subject: null, current: null, baseline: null, baselineSweeps: olderBaseline.answered, recovered: null, steps: [] }]
        : [];
    for (const then of flaggedThen) {
      const cleared = clearedNow(then, cur, flaggedNow);
      if (cleared === undefined) continue;
      out.push({
        kind: 'back-to-normal', severity: 'info', node, subject: then.subject, current: cleared, baseline: then.baseline,
        baselineSweeps: then.baselineSweeps, recovered: { kind: then.kind, value: then.current },
        steps: then.kind === 'node-missing' ? stepsOf(cur ?? null) : [figureStep(then.kind, cur)].filter((s): s is string => s !== undefined),
      });
    }
  }
  return out;
}

/** The figure's value now when the flag `then` no longer holds (null for a node that answers again), else undefined. */
function clearedNow(then: Change, cur: NodeFigures | undefined, flaggedNow: ReadonlySet<string>): number | null | undefined {
  if (then.kind === 'node-missing') return answered(cur) ? null : undefined;
  const value = currentValue(then.kind, then.subject, cur);
  if (value === undefined) return undefined;
  if (then.kind === 'syscall-new' || then.kind === 'oom-kills') return value === 0 ? value : undefined;
  return flaggedNow.has(changeKey(then)) ? undefined : value;
}

function unmeasuredText(f: NodeFigures | null): string {
  if (f === null || f.unmeasured.length === 0) return '';
  return f.unmeasured.map((u) => `${u.step} (${u.tool}) ${u.status}${u.reason ? `: ${u.reason}` : ''}`).join('; ');
}

function firstSweepNote(c: SweepComparison): string {
  const measured = c.nodes.filter((n) => n.presence === 'new').map((n) => n.node);
  const silent = c.nodes.filter((n) => n.presence === 'silent').map((n) => n.node);
  return (
    `Recorded the figures of ${measured.length === 1 ? '1 node' : `${measured.length} nodes`}` +
    `${measured.length ? ` (${measured.join(', ')})` : ''}; later sweeps of this schedule are compared with them.` +
    (silent.length ? ` No figures from ${silent.join(', ')}.` : '')
  );
}

/** The comparison as findings for the investigation's summary, in the comparison's order. */
export function comparisonFindings(c: SweepComparison): Finding[] {
  const currentOf = (node: string | null) => c.nodes.find((n) => n.node === node)?.current ?? null;
  return [...c.changes].sort(byImportance).map((change) => ({
    severity: change.severity,
    title: changeTitle(change),
    detail: changeDetail(change, {
      previousSweeps: c.previous.length,
      options: c.options,
      note: change.kind === 'first-sweep' ? firstSweepNote(c) : change.kind === 'node-missing' ? unmeasuredText(currentOf(change.node)) : '',
    }),
    confidence: changeConfidence(change),
    // A step's result on the node the change is about: the figures compared are read from it.
    evidence: change.node === null ? [] : change.steps.map((step) => ({ artifact: `${step}/${change.node}/result.json` })),
  }));
}

/**
 * Events the kernel reported (an OOM kill, an I/O error) and what the sweep itself saw (a node new or silent) are
 * facts; a figure above its usual is as sure as the baseline it is compared with is long.
 */
function changeConfidence(change: Change): Confidence {
  const sweeps = `${change.baselineSweeps} earlier sweep${change.baselineSweeps === 1 ? '' : 's'}`;
  switch (change.kind) {
    case 'oom-kills':
    case 'io-errors':
      return { level: 'high', reason: 'the kernel reported these events during the sweep' };
    case 'first-sweep':
    case 'node-new':
    case 'node-missing':
      return { level: 'high', reason: 'what this sweep itself saw of the nodes' };
    default:
      return change.baselineSweeps >= 3
        ? { level: 'medium', reason: `compared with the median of ${sweeps}` }
        : { level: 'low', reason: `compared with only ${sweeps}: a baseline this short is a hint` };
  }
}
