import { formatBytes } from '../core/format.ts';
import type { Evidence, Finding, Investigation } from '../core/investigation.ts';
import { artifactKind } from '../core/record-artifacts.ts';
import {
  chainLines,
  earlyEndLine,
  evidencePlace,
  findingsInOrder,
  formatElapsedMs,
  formatTarget,
  COST_LEGEND,
  hasCosts,
  headlineOf,
  nodesOf,
  notesOf,
  relativeArtifactHref,
  runDurationMs,
  stepCostText,
  stepDurationMs,
  storedArtifact,
  withEvidenceQuery,
} from './view.ts';

/** Table cells end at "|" and at a line break. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A code span that survives backquotes inside it: fenced by a longer run of them. */
function codeSpan(s: string): string {
  const longest = Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return longest > 0 ? `${fence} ${s} ${fence}` : `${fence}${s}${fence}`;
}

/** A fenced block that no line of `lines` can close early. */
function codeBlock(lines: string[], lang: string): string[] {
  const longest = Math.max(0, ...lines.flatMap((l) => [...l.matchAll(/`{3,}/g)].map((m) => m[0].length)));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return [`${fence}${lang}`, ...lines, fence];
}

/**
 * An evidence name as a link relative to report.md (stored, and served, beside the artifacts), or as code while
 * it is not stored: a link that answers 404 would read as missing evidence.
 */
function evidence(inv: Investigation, name: string): string {
  return storedArtifact(inv, name) ? `[${name.replace(/[[\]\\]/g, '\\$&')}](${relativeArtifactHref(name)})` : codeSpan(name);
}

/** One evidence line: the artifact, where in it, and the supporting text quoted. */
function evidenceItem(inv: Investigation, e: Evidence): string {
  const stored = storedArtifact(inv, e.artifact);
  const name = e.artifact.replace(/[[\]\\]/g, '\\$&');
  const link = stored ? `[${name}](${withEvidenceQuery(relativeArtifactHref(e.artifact), e)})` : codeSpan(e.artifact);
  const place = evidencePlace(e);
  return `- ${link}${place ? ` — ${place}` : ''}${e.quote ? `: ${codeSpan(e.quote.replace(/\n/g, ' '))}` : ''}`;
}

function findingLines(inv: Investigation, f: Finding): string[] {
  // A line break inside the detail is meant (cpu-profile lists functions one a line): keep it as a hard break.
  const out = [`### [${f.severity}] ${f.title}`, '', f.detail.replace(/\n/g, '  \n'), ''];
  if (f.next) {
    if (f.next.commands.length) out.push('Next step:', '', ...codeBlock(f.next.commands, 'sh'), '');
    out.push(`Fix: ${f.next.remedy}`, '');
  }
  out.push(`Confidence: **${f.confidence.level}** — ${f.confidence.reason}`, '');
  if (f.evidence.length) out.push('Evidence:', '', ...f.evidence.map((e) => evidenceItem(inv, e)), '');
  return out;
}

/** The human summary kept beside summary.json: what ChatOps and the CLI show. */
export function renderReportMarkdown(inv: Investigation): string {
  const out: string[] = [];
  out.push(`# Investigation ${inv.id}: ${inv.playbook}`, '');
  out.push(`**${headlineOf(inv)}**`, '');
  const early = earlyEndLine(inv);
  if (early) out.push(early, '');
  for (const line of chainLines(inv)) out.push(line, '');
  out.push(`- Status: ${inv.status}${inv.reason ? ` — ${inv.reason}` : ''}`);
  out.push(`- Target: ${formatTarget(inv.target)}`);
  const nodes = nodesOf(inv);
  if (nodes.length) out.push(`- ${nodes.length === 1 ? 'Node' : 'Nodes'}: ${nodes.join(', ')}`);
  if (inv.symptom) out.push(`- Symptom: ${inv.symptom}`);
  out.push(`- Requested by: ${inv.requestedBy}`);
  const took = runDurationMs(inv);
  out.push(`- Created: ${inv.createdAt}${inv.finishedAt ? `, finished: ${inv.finishedAt}` : ''}${took === null ? '' : `, took ${formatElapsedMs(took)}`}`, '');

  const findings = findingsInOrder(inv);
  if (findings.length) {
    out.push('## Findings', '');
    for (const f of findings) out.push(...findingLines(inv, f));
  }
  const notes = notesOf(inv);
  if (notes.length) {
    out.push('## Not looked at', '', ...notes.map((n) => `- ${n}`), '');
  }

  const costs = hasCosts(inv);
  out.push(
    '## Steps',
    '',
    `| step | tool | node | status | duration |${costs ? ' cost |' : ''} note |`,
    `| --- | --- | --- | --- | --- |${costs ? ' --- |' : ''} --- |`,
  );
  for (const s of inv.steps) {
    const ms = stepDurationMs(s);
    const cost = costs ? ` ${cell(stepCostText(s) || '—')} |` : '';
    out.push(`| ${cell(s.id)} | ${cell(s.tool)} | ${s.node ?? '—'} | ${s.status} | ${ms === null ? '—' : formatElapsedMs(ms)} |${cost} ${cell(s.reason ?? '')} |`);
  }
  out.push('');
  if (costs) out.push(COST_LEGEND, '');

  const unstored = inv.steps.flatMap((s) => (s.unstored ?? []).map((u) => u.name));
  const names = [...new Set([...inv.artifacts.map((a) => a.name), ...inv.steps.flatMap((s) => s.artifacts), ...unstored])];
  if (names.length) {
    out.push('## Artifacts', '');
    for (const name of names) {
      const stored = storedArtifact(inv, name);
      if (stored) out.push(`- ${evidence(inv, name)} — ${artifactKind(name)}, ${formatBytes(stored.size)}`);
      else out.push(`- ${name}${unstored.includes(name) ? ' (not stored yet)' : ''}`);
    }
    out.push('');
  }
  return out.join('\n');
}
