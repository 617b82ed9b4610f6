import type { Investigation } from './investigation.ts';

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The human summary kept beside summary.json: what ChatOps and the CLI show. */
export function renderReportMarkdown(inv: Investigation): string {
  const out: string[] = [];
  out.push(`# Investigation ${inv.id}: ${inv.playbook}`, '');
  out.push(`**${inv.summary?.headline ?? `Status: ${inv.status}`}**`, '');
  const target = Object.entries(inv.target ?? { fleet: 'every live node' })
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
  out.push(`- Status: ${inv.status}${inv.reason ? ` — ${inv.reason}` : ''}`);
  out.push(`- Target: ${target}`);
  if (inv.symptom) out.push(`- Symptom: ${inv.symptom}`);
  out.push(`- Requested by: ${inv.requestedBy}`);
  out.push(`- Created: ${inv.createdAt}${inv.finishedAt ? `, finished: ${inv.finishedAt}` : ''}`, '');
  if (inv.summary?.findings.length) {
    out.push('## Findings', '');
    for (const f of inv.summary.findings) {
      out.push(`### [${f.severity}] ${f.title}`, '', f.detail, '');
      if (f.evidence.length) out.push(`Evidence: ${f.evidence.join(', ')}`, '');
    }
  }
  out.push('## Steps', '', '| step | tool | node | status | duration | note |', '| --- | --- | --- | --- | --- | --- |');
  for (const s of inv.steps) {
    const ms = s.startedAt && s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : null;
    out.push(`| ${s.id} | ${s.tool} | ${s.node ?? '—'} | ${s.status} | ${ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`} | ${esc(s.reason ?? '')} |`);
  }
  out.push('');
  const files = inv.steps.flatMap((s) => s.artifacts);
  if (files.length) {
    out.push('## Artifacts', '');
    for (const f of files) out.push(`- ${f}`);
    out.push('');
  }
  return out.join('\n');
}
