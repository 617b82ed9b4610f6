import { ProfileResult } from '../../bpf/bpftrace/profile/result.ts';
import { describeCost } from '../core/capture-cost.ts';
import { formatBytes } from '../core/format.ts';
import { SEVERITY_ORDER, type Evidence, type Finding, type Investigation, type Severity, type Step } from '../core/investigation.ts';
import { artifactKind } from '../core/record-artifacts.ts';
import { isStepArtifact, OFFCPU_FLAMEGRAPH_ARTIFACT } from '../flamegraph/artifacts.ts';
import { FLAMEGRAPH_FRAME_CSS, REPORT_CSS, REPORT_SCRIPT } from './html-style.ts';
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
  isNotNeeded,
  nodesOf,
  notesOf,
  runDurationMs,
  stepCostText,
  stepDurationMs,
  storedArtifact,
  withEvidenceQuery,
} from './view.ts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const SEVERITY_LABEL: Record<Severity, string> = { critical: 'Critical', warning: 'Warning', info: 'Info' };

/** "2025-03-04 10:15:01 UTC": the same instant for every reader, whatever their browser's zone. */
const when = (iso: string) => {
  const t = new Date(iso);
  return Number.isFinite(t.getTime()) ? `${t.toISOString().slice(0, 19).replace('T', ' ')} UTC` : iso;
};

/** The colour a step's status gets: a branch not taken is quiet, a step the node could not run is a caution. */
function stepTone(s: Step): string {
  if (s.status === 'skipped') return isNotNeeded(s) ? 'muted' : 'caution';
  return { succeeded: 'good', failed: 'bad', cancelled: 'muted', running: 'active', pending: 'muted' }[s.status];
}

/** The stored artifact's own URL (it may be signed), else the name as code: a link to something not stored would 404. */
function evidenceLink(inv: Investigation, e: Evidence): string {
  const a = storedArtifact(inv, e.artifact);
  const link = a ? `<a href="${esc(withEvidenceQuery(a.url, e))}">${esc(e.artifact)}</a>` : `<code title="not stored yet">${esc(e.artifact)}</code>`;
  const place = evidencePlace(e);
  const quote = e.quote ? ` <code class="quote">${esc(e.quote)}</code>` : '';
  return `<li>${link}${place ? ` <span class="place">${esc(place)}</span>` : ''}${quote}</li>`;
}

function findingCard(inv: Investigation, f: Finding): string {
  const out = [
    `<article class="card sev-${f.severity}" data-severity="${f.severity}">`,
    `<div class="card-head"><span class="sev">${SEVERITY_LABEL[f.severity]}</span><h3>${esc(f.title)}</h3></div>`,
    `<p class="detail">${esc(f.detail)}</p>`,
    `<p class="confidence conf-${f.confidence.level}"><span class="label">Confidence</span> <strong>${f.confidence.level}</strong> — ${esc(f.confidence.reason)}</p>`,
  ];
  if (f.next) {
    out.push('<div class="next"><div class="label">Next step</div>');
    if (f.next.commands.length) out.push(`<pre class="cmd"><code>${esc(f.next.commands.join('\n'))}</code></pre>`);
    out.push(`<p class="fix"><strong>Fix:</strong> ${esc(f.next.remedy)}</p></div>`);
  }
  if (f.evidence.length) {
    out.push(`<div class="evidence"><span class="label">Evidence</span><ul>${f.evidence.map((e) => evidenceLink(inv, e)).join('')}</ul></div>`);
  }
  out.push('</article>');
  return out.join('\n');
}

/**
 * The header card: what was investigated and how it went, then the answer. The h1 reads "Investigation <id>:
 * <playbook>" to a screen reader; on screen the playbook is the title and the id the line above it.
 */
function header(inv: Investigation, findings: Finding[]): string[] {
  const nodes = nodesOf(inv);
  const took = runDurationMs(inv);
  const early = earlyEndLine(inv);
  const meta: [string, string][] = [
    ...(nodes.length ? [[nodes.length === 1 ? 'Node' : 'Nodes', esc(nodes.join(', '))] as [string, string]] : []),
    ['Requested by', esc(inv.requestedBy)],
    ['Started', esc(when(inv.startedAt ?? inv.createdAt))],
    ...(inv.finishedAt ? [['Finished', esc(when(inv.finishedAt))] as [string, string]] : []),
    ...(took === null ? [] : [['Duration', esc(formatElapsedMs(took))] as [string, string]]),
  ];
  return [
    '<header class="top">',
    `<div class="eyebrow" aria-hidden="true">tracehound · investigation <span class="id">${esc(inv.id)}</span></div>`,
    '<div class="title-row">',
    `<h1><span class="sr">Investigation ${esc(inv.id)}: </span>${esc(inv.playbook)}</h1>`,
    `<span class="badge st-${esc(inv.status)}">${esc(inv.status)}</span>`,
    '</div>',
    `<div class="headline ${headlineTone(inv, findings)}"><p>${esc(headlineOf(inv))}</p>${early ? `<p class="reason">${esc(early)}</p>` : ''}${chainLines(inv).map((l) => `<p class="reason">${esc(l)}</p>`).join('')}</div>`,
    '<dl class="meta">',
    `<div class="wide"><dt>Target</dt><dd><code>${esc(formatTarget(inv.target))}</code></dd></div>`,
    ...meta.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`),
    ...(inv.symptom ? [`<div class="wide"><dt>Symptom</dt><dd>${esc(inv.symptom)}</dd></div>`] : []),
    '</dl>',
    '</header>',
  ];
}

/** The headline's colour: the worst finding's, or the run's own when it failed. */
function headlineTone(inv: Investigation, findings: Finding[]): string {
  const worst = SEVERITY_ORDER.find((s) => findings.some((f) => f.severity === s));
  if (worst) return `sev-${worst}`;
  return inv.status === 'failed' ? 'sev-critical' : 'sev-none';
}

function profileSections(inv: Investigation): string[] {
  const out: string[] = [];
  for (const s of inv.steps) {
    const profile = s.status === 'succeeded' ? ProfileResult.safeParse(s.result) : null;
    if (!profile?.success) continue;
    out.push(`<section><h2>Top functions <small>${esc(s.id)} on ${esc(s.node ?? '?')} · ${profile.data.samples} samples at ${profile.data.hz} Hz</small></h2>`);
    if (profile.data.unknownSamples > 0) {
      out.push(
        `<p>${profile.data.unknownSamples} of ${profile.data.samples} samples (${pct(profile.data.unknownSamples / Math.max(1, profile.data.samples))}) have frames without symbols, shown as <code>[unknown]</code> (stripped binaries, JIT code, processes that exited before the capture ended). Kernel frames are marked <code>_[k]</code>.</p>`,
      );
    }
    out.push('<div class="scroll"><table class="funcs"><thead><tr><th class="num">#</th><th>function</th><th class="num">self</th><th class="num">total</th></tr></thead><tbody>');
    profile.data.topFunctions.forEach((f, i) =>
      out.push(`<tr><td class="num">${i + 1}</td><td><code>${esc(f.name)}</code></td><td class="num">${pct(f.self)}</td><td class="num">${pct(f.total)}</td></tr>`),
    );
    out.push('</tbody></table></div></section>');
  }
  return out;
}

function flamegraphSections(flamegraphs: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [name, svg] of flamegraphs) {
    const size = (attr: string, fallback: number) => Number(new RegExp(`<svg[^>]*\\s${attr}="(\\d+)"`).exec(svg)?.[1] ?? fallback) || fallback;
    const width = size('width', 1200);
    const height = size('height', 640);
    // Its natural size (plus a scrollbar) where it scrolls inside the frame; its aspect ratio where it is scaled to fit.
    const box = `--h:${Math.min(height + 24, 2000)}px;--ar:${width} / ${height}`;
    // allow-modals: the search asks for its pattern with prompt(); the frame keeps its own opaque origin.
    out.push(
      `<section><h2>${isStepArtifact(name, OFFCPU_FLAMEGRAPH_ARTIFACT) ? 'Off-CPU flamegraph' : 'Flamegraph'} <small>${esc(name)}</small></h2>`,
      `<iframe title="${esc(name)}" class="fg" sandbox="allow-scripts allow-modals" style="${box}" srcdoc="${esc(FLAMEGRAPH_FRAME_CSS + svg)}"></iframe></section>`,
    );
  }
  return out;
}

function stepsTable(inv: Investigation): string[] {
  const costs = hasCosts(inv);
  const out = [
    '<section><h2>Steps</h2>',
    `<table class="steps"><thead><tr><th>step</th><th>tool</th><th>node</th><th>status</th><th class="num">duration</th>${costs ? '<th class="num">cost</th>' : ''}<th>note</th></tr></thead><tbody>`,
  ];
  for (const s of inv.steps) {
    const ms = stepDurationMs(s);
    out.push(
      // One element per cell: on a phone each cell is a row of label and value.
      `<tr data-step="${esc(s.id)}"><td data-label="step"><span>${esc(s.title ?? s.id)}${s.title ? ` <small>${esc(s.id)}</small>` : ''}</span></td>` +
        `<td data-label="tool"><code>${esc(s.tool)}</code></td><td data-label="node">${esc(s.node ?? '—')}</td>` +
        `<td data-label="status"><span class="pill tone-${stepTone(s)}">${esc(s.status)}</span></td>` +
        `<td data-label="duration" class="num">${ms === null ? '—' : esc(formatElapsedMs(ms))}</td>` +
        (costs ? `<td data-label="cost" class="num${s.cost?.overBudget ? ' over-budget' : ''}"${s.cost ? ` title="${esc(describeCost(s.cost))}"` : ''}>${esc(stepCostText(s) || '—')}</td>` : '') +
        `<td data-label="note" class="note">${esc(s.reason ?? '')}</td></tr>`,
    );
  }
  out.push('</tbody></table>');
  if (costs) out.push(`<p class="legend">${esc(COST_LEGEND)}</p>`);
  out.push('</section>');
  return out;
}

function artifactList(inv: Investigation): string[] {
  if (inv.artifacts.length === 0) return [];
  return [
    '<section><h2>Artifacts</h2><ul class="artifacts">',
    ...inv.artifacts.map(
      (a) => `<li><a href="${esc(a.url)}">${esc(a.name)}</a> <span class="size">${esc(artifactKind(a.name))} · ${esc(formatBytes(a.size))}</span></li>`,
    ),
    '</ul></section>',
  ];
}

/**
 * The self-contained report page (inline style and script, nothing fetched): header with status and target, the
 * headline, findings as cards in severity order with their next step and evidence, notes, top functions, every
 * flamegraph inline (each in a sandboxed srcdoc iframe, so its own script runs as in the standalone SVG), the steps
 * with durations, and links to every artifact. `flamegraphs` maps an artifact name ("cpu/node-17/flamegraph.svg")
 * to its SVG text.
 */
export function renderReportHtml(inv: Investigation, flamegraphs: ReadonlyMap<string, string>): string {
  const findings = findingsInOrder(inv);
  const notes = notesOf(inv);
  const out: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(`${inv.playbook}: ${headlineOf(inv)}`)}</title>`,
    `<style>${REPORT_CSS}</style></head><body><main>`,
    ...header(inv, findings),
  ];
  if (findings.length) {
    out.push(`<section class="findings"><h2>Findings <span class="count">${findings.length}</span></h2>`, ...findings.map((f) => findingCard(inv, f)), '</section>');
  }
  if (notes.length) {
    out.push('<section class="notes"><h2>Not looked at</h2><ul>', ...notes.map((n) => `<li>${esc(n)}</li>`), '</ul></section>');
  }
  out.push(...profileSections(inv), ...flamegraphSections(flamegraphs), ...stepsTable(inv), ...artifactList(inv));
  out.push(`<footer>Rendered by tracehound from the record of ${esc(inv.id)}.</footer>`, `</main><script>${REPORT_SCRIPT}</script></body></html>`);
  return out.join('\n');
}
