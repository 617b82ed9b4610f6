import type { Evidence, Finding, Investigation, Step } from '../core/investigation.ts';

/**
 * The most a get_investigation answer holds: 16 KiB of JSON. A tool's answer goes whole into the model's context,
 * where 16 KiB (about 4,000 tokens) leaves room for the conversation, yet holds the headline, routing, a couple of
 * dozen findings with their evidence and a fleet's steps. Raw results never come along: they are artifacts, read a
 * page at a time with get_artifact, whose page is bounded the same way (ARTIFACT_PAGE_MAX).
 */
export const INVESTIGATION_VIEW_BUDGET = 16 * 1024;

/** Lists are first cut to these lengths, the rest said as a marker; the budget then cuts further where needed. */
const LIST_CAPS = { findings: 20, evidence: 3, rows: 5, commands: 4, notes: 10, steps: 60, artifacts: 60 } as const;

/** Longest text kept per field: a detail says what was seen, a reason why a step failed; more is in the report. */
const TEXT_CAPS = { headline: 600, symptom: 500, title: 200, detail: 600, reason: 300, note: 300, why: 300, quote: 200 } as const;

const cut = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/** A list's last element when some were left out: what a reader (a model) sees instead of a silent cut. */
export const moreMarker = (n: number, what: string) => `… ${n} more ${what} not shown`;

/** At most `max` items, and the marker for the rest. */
function capped<T>(items: readonly T[], max: number, what: string): (T | string)[] {
  return items.length <= max ? [...items] : [...items.slice(0, max), moreMarker(items.length - max, what)];
}

const evidenceView = (e: Evidence) => ({
  artifact: e.artifact,
  ...(e.rows ? { rows: capped(e.rows, LIST_CAPS.rows, 'rows') } : {}),
  ...(e.lines ? { lines: e.lines } : {}),
  ...(e.quote ? { quote: cut(e.quote, TEXT_CAPS.quote) } : {}),
});

const findingView = (f: Finding) => ({
  severity: f.severity,
  title: cut(f.title, TEXT_CAPS.title),
  detail: cut(f.detail, TEXT_CAPS.detail),
  confidence: { level: f.confidence.level, reason: cut(f.confidence.reason, TEXT_CAPS.reason) },
  evidence: capped(f.evidence.map(evidenceView), LIST_CAPS.evidence, 'evidence entries'),
  ...(f.next ? { next: { commands: capped(f.next.commands, LIST_CAPS.commands, 'commands'), remedy: cut(f.next.remedy, TEXT_CAPS.detail) } } : {}),
});

/** What a step is, never its result: the result is an artifact (`<step>/<node>/result.json`). */
const stepView = (s: Step) => ({ id: s.id, status: s.status, tool: s.tool, node: s.node, ...(s.reason ? { error: cut(s.reason, TEXT_CAPS.reason) } : {}) });

export type InvestigationView = ReturnType<typeof fullView>;

function fullView(inv: Investigation) {
  const summary = inv.summary;
  return {
    id: inv.id,
    status: inv.status,
    playbook: inv.playbook,
    ...(inv.symptom ? { symptom: cut(inv.symptom, TEXT_CAPS.symptom) } : {}),
    ...(inv.target ? { target: inv.target } : {}),
    ...(inv.routing
      ? {
          routing: {
            ...inv.routing,
            why: cut(inv.routing.why, TEXT_CAPS.why),
            alternatives: inv.routing.alternatives.map((a) => ({ ...a, why: cut(a.why, TEXT_CAPS.why) })),
          },
        }
      : {}),
    requestedBy: inv.requestedBy,
    createdAt: inv.createdAt,
    ...(inv.finishedAt ? { finishedAt: inv.finishedAt } : {}),
    ...(inv.reason ? { reason: cut(inv.reason, TEXT_CAPS.reason) } : {}),
    headline: summary ? cut(summary.headline, TEXT_CAPS.headline) : null,
    ...(summary?.nextPlaybook ? { nextPlaybook: { ...summary.nextPlaybook, why: cut(summary.nextPlaybook.why, TEXT_CAPS.why) } } : {}),
    findings: capped((summary?.findings ?? []).map(findingView), LIST_CAPS.findings, 'findings'),
    notes: capped((summary?.notes ?? []).map((n) => cut(n, TEXT_CAPS.note)), LIST_CAPS.notes, 'notes'),
    steps: capped(inv.steps.map(stepView), LIST_CAPS.steps, 'steps'),
    /** Names for get_artifact; their bytes are never here. */
    artifacts: capped(
      inv.artifacts.map((a) => ({ name: a.name, contentType: a.contentType, size: a.size })),
      LIST_CAPS.artifacts,
      'artifacts',
    ),
    ...(inv.note ? { note: cut(inv.note, TEXT_CAPS.note) } : {}),
    report: `/v1/investigations/${inv.id}/report`,
  };
}

const bytesOf = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

type ListKey = 'findings' | 'steps' | 'notes' | 'artifacts';

/**
 * What each list keeps while others can still give: a finding, and enough steps and artifact names to see the
 * shape of the run. Below these only as a last resort, artifact names first (evidence names the ones that matter).
 */
const FLOORS: Record<ListKey, number> = { findings: 1, steps: 8, notes: 1, artifacts: 5 };
const LAST_RESORT: readonly ListKey[] = ['artifacts', 'notes', 'steps', 'findings'];

/** Keeps the first `keep` real items of a capped list and says how many of all were left out. */
function shorten<T>(list: (T | string)[], keep: number, what: string): (T | string)[] {
  const real = list.filter((x): x is T => typeof x !== 'string');
  const earlier = list.length > real.length ? Number(/… (\d+) more/.exec(list.at(-1) as string)?.[1] ?? 0) : 0;
  const dropped = real.length - keep + earlier;
  return dropped > 0 ? [...real.slice(0, keep), moreMarker(dropped, what)] : real;
}

const realCount = (list: unknown[]) => list.filter((x) => typeof x !== 'string').length;

/**
 * An investigation as get_investigation answers it: status, headline, routing, findings with their confidence and
 * evidence paths, steps (id, status, tool, node, error), artifact names — at most `budget` bytes of JSON. Texts and
 * lists are capped first; then, while the whole is over budget, the list taking the most bytes is halved, down to
 * its floor (FLOORS), so a long list of findings does not push every step out. Each cut list ends with its
 * "… n more" marker, counting everything left out.
 */
export function investigationView(inv: Investigation, budget = INVESTIGATION_VIEW_BUDGET): InvestigationView {
  const view = fullView(inv);
  const lists: Record<ListKey, unknown[]> = view;
  const keys = Object.keys(FLOORS) as ListKey[];
  while (bytesOf(view) > budget) {
    const heaviest = keys.filter((k) => realCount(lists[k]) > FLOORS[k]).sort((a, b) => bytesOf(lists[b]) - bytesOf(lists[a]))[0];
    if (heaviest) {
      lists[heaviest] = shorten(lists[heaviest], Math.max(FLOORS[heaviest], Math.floor(realCount(lists[heaviest]) / 2)), heaviest);
      continue;
    }
    const last = LAST_RESORT.find((k) => realCount(lists[k]) > 0);
    if (!last) break;
    lists[last] = shorten(lists[last], realCount(lists[last]) - 1, last);
  }
  return view;
}
