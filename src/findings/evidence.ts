import { BPFTRACE_RAW_FILE, RawLine } from '../../bpf/raw-lines.ts';
import { jsonPointer, resolvePointer } from '../core/json-pointer.ts';
import { MAX_EVIDENCE_QUOTE, MAX_EVIDENCE_ROWS, type Evidence, type Step } from '../core/investigation.ts';
import { artifactNamesOf, succeededSteps } from './step-problems.ts';

/** The artifact a step's result is stored as on one node: what row pointers point into. */
export const RESULT_FILE = 'result.json';

/** A row in words for a quote: compact JSON, cut to what a quote may hold. */
export function quoteOf(values: readonly unknown[]): string | undefined {
  if (values.length === 0) return undefined;
  const text = values.map((v) => JSON.stringify(v)).join('\n');
  return text.length <= MAX_EVIDENCE_QUOTE ? text : `${text.slice(0, MAX_EVIDENCE_QUOTE - 1)}…`;
}

/** Every stored artifact of a step id (optionally one file of each node), as evidence without rows: the whole file supports it. */
export function wholeArtifacts(steps: readonly Step[], stepId: string, file?: string): Evidence[] {
  const names = succeededSteps([...steps], stepId).flatMap(artifactNamesOf);
  return [...new Set(names.filter((a) => file === undefined || a.endsWith(`/${file}`)))].map((artifact) => ({ artifact }));
}

/**
 * The rows of a list in a step's result that support a finding, per node, as pointers into that node's result.json
 * ("/rows/3") with the first rows quoted. `list` is the path of the list in the result (["rows"], ["namespaces"]);
 * `pick` says which rows count. Nodes where no row counts, or whose result.json is not stored (nor spooled), give none.
 * With `lines`, rows their tool read from a line of its raw output (a `raw` RawLine: bpf/raw-lines.ts) point at those
 * lines too (lineEvidence): the kernel's own words, one click away. Playbook rules ask for it (compile.ts); a caller
 * whose summary is checked without the raw texts at hand leaves it out.
 */
export function rowEvidence(
  steps: readonly Step[],
  stepId: string,
  list: readonly string[],
  pick: (row: unknown, index: number, node: string | null) => boolean,
  opts: { lines?: boolean } = {},
): Evidence[] {
  const out: Evidence[] = [];
  for (const s of succeededSteps([...steps], stepId)) {
    const artifact = artifactNamesOf(s).find((a) => a.endsWith(`/${RESULT_FILE}`));
    const rows = resolvePointer(s.result, jsonPointer(list));
    if (!artifact || !Array.isArray(rows)) continue;
    const hits = rows.flatMap((row, i) => (pick(row, i, s.node) ? [i] : [])).slice(0, MAX_EVIDENCE_ROWS);
    if (hits.length === 0) continue;
    const quote = quoteOf(hits.slice(0, 3).map((i) => rows[i]));
    out.push({ artifact, rows: hits.map((i) => jsonPointer([...list, i])), ...(quote ? { quote } : {}) });
    if (opts.lines) out.push(...lineEvidence(s, hits.map((i) => rows[i])));
  }
  return out;
}

/**
 * The lines of a step's raw output (on one node) that the given rows were read from, as one range with the first
 * row's own text quoted: found verbatim in the range, since the parser took it from there. None when no row says
 * where it came from, or the raw output is not stored (nor spooled).
 */
export function lineEvidence(s: Step, rows: readonly unknown[]): Evidence[] {
  const raws = rows.flatMap((r) => {
    const raw = RawLine.safeParse(r !== null && typeof r === 'object' ? (r as { raw?: unknown }).raw : undefined);
    return raw.success ? [raw.data] : [];
  });
  const artifact = artifactNamesOf(s).find((a) => a.endsWith(`/${BPFTRACE_RAW_FILE}`));
  if (raws.length === 0 || !artifact) return [];
  const lines = raws.map((r) => r.line);
  return [{ artifact, lines: [Math.min(...lines), Math.max(...lines)], quote: raws[0]!.text.slice(0, MAX_EVIDENCE_QUOTE) }];
}

/** Fields of a step's result (["total"], ["all", "p99"]) that support a finding, per node: the figures it quotes. */
export function fieldEvidence(steps: readonly Step[], stepId: string, fields: readonly (readonly string[])[]): Evidence[] {
  const out: Evidence[] = [];
  for (const s of succeededSteps([...steps], stepId)) {
    const artifact = artifactNamesOf(s).find((a) => a.endsWith(`/${RESULT_FILE}`));
    if (!artifact) continue;
    const present = fields.map((f) => jsonPointer(f)).filter((p) => resolvePointer(s.result, p) !== undefined).slice(0, MAX_EVIDENCE_ROWS);
    if (present.length === 0) {
      out.push({ artifact });
      continue;
    }
    const quote = quoteOf([Object.fromEntries(present.map((p) => [p, resolvePointer(s.result, p)]))]);
    out.push({ artifact, rows: present, ...(quote ? { quote } : {}) });
  }
  return out;
}
