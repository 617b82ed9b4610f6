import type { Investigation } from './investigation.ts';
import { ProfileResult } from './tool-results.ts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * The self-contained report page: summary, findings, steps, top functions, every flamegraph inline (each in a
 * sandboxed srcdoc iframe, so its own script runs as in the standalone SVG), links to every artifact.
 * `flamegraphs` maps an artifact name ("cpu/node-17/flamegraph.svg") to its SVG text.
 */
export function renderReportHtml(inv: Investigation, flamegraphs: ReadonlyMap<string, string>): string {
  const out: string[] = [];
  const title = `Investigation ${inv.id}: ${inv.playbook}`;
  out.push(
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${esc(title)}</title>`,
    '<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;max-width:1280px;color:#222}h1{font-size:20px}',
    '.headline{font-size:17px;font-weight:600;padding:10px 14px;background:#fff4e5;border-left:4px solid #e8590c}',
    '.critical{color:#c92a2a}.warning{color:#e67700}.info{color:#1864ab}table{border-collapse:collapse;margin:8px 0}',
    'td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}pre{white-space:pre-wrap;margin:4px 0}',
    'iframe{width:100%;border:1px solid #ddd;height:640px}code{font-size:13px}</style></head><body>',
    `<h1>${esc(title)}</h1>`,
    `<p class="headline">${esc(inv.summary?.headline ?? `Status: ${inv.status}`)}</p>`,
    '<table>',
    `<tr><th>Status</th><td>${esc(inv.status)}${inv.reason ? ` — ${esc(inv.reason)}` : ''}</td></tr>`,
    `<tr><th>Target</th><td>${esc(Object.entries(inv.target ?? { fleet: 'every live node' }).map(([k, v]) => `${k}=${String(v)}`).join(', '))}</td></tr>`,
    `<tr><th>Requested by</th><td>${esc(inv.requestedBy)}</td></tr>`,
    `<tr><th>Created</th><td>${esc(inv.createdAt)}${inv.finishedAt ? `, finished ${esc(inv.finishedAt)}` : ''}</td></tr>`,
    '</table>',
  );
  if (inv.summary?.findings.length) {
    out.push('<h2>Findings</h2>');
    for (const f of inv.summary.findings) {
      out.push(`<h3 class="${f.severity}">[${f.severity}] ${esc(f.title)}</h3>`, `<pre>${esc(f.detail)}</pre>`);
      if (f.evidence.length) out.push(`<p>Evidence: ${f.evidence.map((e) => `<code>${esc(e)}</code>`).join(', ')}</p>`);
    }
  }
  for (const s of inv.steps) {
    const profile = s.status === 'succeeded' ? ProfileResult.safeParse(s.result) : null;
    if (!profile?.success) continue;
    out.push(`<h2>Top functions — ${esc(s.id)} on ${esc(s.node ?? '?')} (${profile.data.samples} samples at ${profile.data.hz} Hz)</h2>`);
    if (profile.data.unknownSamples > 0) {
      out.push(
        `<p>${profile.data.unknownSamples} of ${profile.data.samples} samples (${pct(profile.data.unknownSamples / Math.max(1, profile.data.samples))}) have frames without symbols, shown as <code>[unknown]</code> (stripped binaries, JIT code, processes that exited before the capture ended). Kernel frames are marked <code>_[k]</code>.</p>`,
      );
    }
    out.push('<table><tr><th>#</th><th>function</th><th>self</th><th>total</th></tr>');
    profile.data.topFunctions.forEach((f, i) => out.push(`<tr><td>${i + 1}</td><td><code>${esc(f.name)}</code></td><td>${pct(f.self)}</td><td>${pct(f.total)}</td></tr>`));
    out.push('</table>');
  }
  for (const [name, svg] of flamegraphs) {
    // allow-modals: the search asks for its pattern with prompt(); the frame keeps its own opaque origin.
    const height = Math.min(Number(/<svg[^>]*\sheight="(\d+)"/.exec(svg)?.[1] ?? 640) + 24, 2000);
    out.push(
      `<h2>Flamegraph — ${esc(name)}</h2>`,
      `<iframe title="${esc(name)}" sandbox="allow-scripts allow-modals" style="height:${height}px" srcdoc="${esc(svg)}"></iframe>`,
    );
  }
  out.push('<h2>Steps</h2><table><tr><th>step</th><th>tool</th><th>node</th><th>status</th><th>note</th></tr>');
  for (const s of inv.steps) {
    out.push(`<tr><td>${esc(s.id)}</td><td>${esc(s.tool)}</td><td>${esc(s.node ?? '—')}</td><td>${esc(s.status)}</td><td>${esc(s.reason ?? '')}</td></tr>`);
  }
  out.push('</table><h2>Artifacts</h2><ul>');
  for (const a of inv.artifacts) out.push(`<li><a href="${esc(a.url)}">${esc(a.name)}</a> <small>${esc(a.contentType)}, ${a.size} bytes</small></li>`);
  out.push('</ul></body></html>');
  return out.join('\n');
}
