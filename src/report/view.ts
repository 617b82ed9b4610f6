import { bySeverity, isTerminal, type Evidence, type Finding, type Investigation, type Step } from '../core/investigation.ts';
import { formatCostShare } from '../core/capture-cost.ts';

/*
 * What every rendering of an investigation shows — report.md, report.html, the chat messages — decided once here, so
 * they cannot drift apart: the same headline, the findings in the same order, the same target and durations.
 */

/** "pod=shop/cart-7d9f", "node=node-17 pid=42", or "all nodes" for fleet-wide runs. Not escaped. */
export function formatTarget(target: object | undefined): string {
  const parts = Object.entries(target ?? {})
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return parts.length ? parts.join(' ') : 'all nodes';
}

/** What became of the run, in words: a failed run's reason, or that it is still going. */
function statusLine(inv: Investigation): string {
  if (inv.status === 'failed') return `Failed: ${inv.reason ?? 'no reason was recorded'}`;
  if (inv.status === 'cancelled') return `Cancelled${inv.reason ? `: ${inv.reason}` : ''}`;
  return isTerminal(inv.status) ? 'Finished without a summary.' : `Still ${inv.status}.`;
}

/** The one headline: the summary's; without one, what became of the run. */
export const headlineOf = (inv: Investigation): string => inv.summary?.headline ?? statusLine(inv);

/** Under a summary's headline, a run that ended early says why, unless the headline already does. */
export function earlyEndLine(inv: Investigation): string | undefined {
  if (!inv.summary || (inv.status !== 'failed' && inv.status !== 'cancelled')) return undefined;
  return inv.reason && inv.summary.headline.includes(inv.reason) ? undefined : statusLine(inv);
}

/**
 * Critical first. Summaries arrive sorted, but a summary extended later (a sweep's comparison) or recorded by an
 * older version may not be: readers must never find the cause below an info line. Stable, so a playbook's own
 * order within a severity stays.
 */
export const findingsInOrder = (inv: Investigation): Finding[] => [...(inv.summary?.findings ?? [])].sort(bySeverity);

/**
 * Where this investigation leads and where it came from, in words: the playbook its summary says to run next (and the
 * investigation started for it, when chained), and the one whose summary started this one.
 */
export function chainLines(inv: Investigation): string[] {
  const out: string[] = [];
  const next = inv.summary?.nextPlaybook;
  if (inv.next) out.push(`Next: ${inv.next.playbook}, started as ${inv.next.id}${next ? ` — ${next.why}` : ''}`);
  else if (next) out.push(`Next: run the ${next.playbook} playbook on the same target — ${next.why}`);
  if (inv.chainedFrom) out.push(`Started by ${inv.chainedFrom}, whose summary named this playbook to run next`);
  return out;
}

/** What could not be looked at, in words; never a branch not taken. */
export const notesOf = (inv: Investigation): string[] => inv.summary?.notes ?? [];

/** A branch the playbook did not take: the playbook working, shown only in the steps table. */
export { isNotNeeded } from '../findings/step-problems.ts';

/** "0.4 s", "32.4 s", "1 min 35 s", "2 h 5 min": spans of a capture or a whole run, to the tenth under a minute. */
export function formatElapsedMs(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Milliseconds between two ISO times; null when either is missing, unreadable, or the span runs backwards. */
export function spanMs(from: string | undefined, to: string | undefined): number | null {
  if (!from || !to) return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}

/** How long a step ran, or null for one that never started (not needed, still pending) or has not ended. */
export const stepDurationMs = (s: Step) => spanMs(s.startedAt, s.finishedAt);

/** How long the run took, from when it started (or was asked for) to its end; null while it runs. */
export const runDurationMs = (inv: Investigation) => spanMs(inv.startedAt ?? inv.createdAt, inv.finishedAt);

/** The nodes the steps ran on, in first-seen order. */
export const nodesOf = (inv: Investigation): string[] => [...new Set(inv.steps.flatMap((s) => (s.node ? [s.node] : [])))];

/**
 * The stored artifact an evidence name points at, with its URL; undefined while it is not stored (still in an
 * agent's spool): such a name is shown, but not as a link that would answer 404.
 */
export const storedArtifact = (inv: Investigation, name: string) => inv.artifacts.find((a) => a.name === name);

/**
 * `name` as a URL path relative to the investigation's artifacts (report.md is served as
 * /v1/investigations/<id>/artifacts/report.md and stored beside them): each segment percent-encoded once, which is
 * what the artifact route decodes.
 */
export const relativeArtifactHref = (name: string) =>
  name
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');

/** "rows /rows/0, /rows/3" or "lines 12–40": where in an artifact the support is; empty when the whole file is. */
export function evidencePlace(e: Evidence): string {
  if (e.rows?.length) return `${e.rows.length === 1 ? 'row' : 'rows'} ${e.rows.join(', ')}`;
  if (e.lines) return e.lines[0] === e.lines[1] ? `line ${e.lines[0]}` : `lines ${e.lines[0]}–${e.lines[1]}`;
  return '';
}

/**
 * The query that makes the artifact route answer with only the supporting part (`?lines=12-40`, `?pointer=/rows/3`
 * for a single row); empty when the whole file supports it or several rows do.
 */
export function evidenceQuery(e: Evidence): string {
  if (e.lines) return `lines=${e.lines[0]}-${e.lines[1]}`;
  if (e.rows?.length === 1) return `pointer=${encodeURIComponent(e.rows[0]!)}`;
  return '';
}

/** `url` with the evidence query added after whatever it carries (a signed link has ?exp=…&sig=…). */
export const withEvidenceQuery = (url: string, e: Evidence) => {
  const q = evidenceQuery(e);
  return q ? `${url}${url.includes('?') ? '&' : '?'}${q}` : url;
};

/** Whether any step carries a measured cost: only then do the steps tables get a cost column (older records have none). */
export const hasCosts = (inv: Investigation) => inv.steps.some((s) => s.cost !== undefined);

/**
 * "6.3% of the node (0.41% attached)", "…, over its 0.1% budget": a step's measured cost, the whole capture's and,
 * for bpftrace, while attached (what a budget is held against); empty when it has none.
 */
export function stepCostText(s: Step): string {
  if (!s.cost) return '';
  const attached = s.cost.attachedNodeCpuShare !== undefined ? ` (${formatCostShare(s.cost.attachedNodeCpuShare)} attached)` : '';
  const over = s.cost.overBudget && s.cost.budget !== undefined ? `, over its ${formatCostShare(s.cost.budget)} budget` : '';
  return `${formatCostShare(s.cost.nodeCpuShare)} of the node${attached}${over}`;
}

/** What the cost column means, said once under the table. */
export const COST_LEGEND =
  "Cost: the node's CPU each capture took while it was there (its BPF programs' run time from the kernel's statistics plus the capture process's CPU time), as a share of all the node's CPUs, loading included; in brackets, the share once attached, which the budget is held against; each step's cost.json has the parts.";

/** "captures took up to 0.45% of a node's CPU", with how many went over budget: one line for chat; undefined without costs. */
export function costSummary(inv: Investigation): string | undefined {
  const costs = inv.steps.flatMap((s) => (s.cost ? [s.cost] : []));
  if (costs.length === 0) return undefined;
  const most = Math.max(...costs.map((c) => c.nodeCpuShare));
  const over = costs.filter((c) => c.overBudget).length;
  return `captures took ${costs.length > 1 ? 'up to ' : ''}${formatCostShare(most)} of a node's CPU${over ? ` (${over} over budget)` : ''}`;
}
