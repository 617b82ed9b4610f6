import { describe, expect, it } from 'vitest';
import { Investigation } from '../../src/core/investigation.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { renderReportMarkdown } from '../../src/report/markdown.ts';
import { enospcFailed, enospcSucceeded } from '../fixtures/chatops/investigations.ts';

/** The same investigation with its findings in the reverse of severity order. */
const shuffled = Investigation.parse({
  ...enospcSucceeded,
  summary: { ...enospcSucceeded.summary, findings: [...enospcSucceeded.summary!.findings].reverse() },
});

/** The markdown between "## <title>" and the next "## " heading. */
function mdSection(md: string, title: string): string {
  const start = md.indexOf(`\n## ${title}\n`);
  if (start === -1) return '';
  const next = md.indexOf('\n## ', start + 1);
  return md.slice(start, next === -1 ? undefined : next);
}

describe('report.md', () => {
  const md = renderReportMarkdown(shuffled);

  it('shows the headline and the header facts', () => {
    expect(md.split('\n').slice(0, 10)).toEqual([
      '# Investigation inv_01j9z3k4m5n6p7q8r9s0t1v2w3: enospc',
      '',
      '**mount(2) fails: mount namespace of pid 4242 holds 99990 mounts, limit fs.mount-max=100000**',
      '',
      '- Status: succeeded',
      '- Target: pod=shop/cart-7d9f',
      '- Node: node-17',
      '- Requested by: slack:U2CERLKJA',
      '- Created: 2025-03-04T10:15:00.000Z, finished: 2025-03-04T10:15:33.400Z, took 32.4 s',
      '',
    ]);
  });

  it('lists findings in severity order even when the summary does not', () => {
    expect([...md.matchAll(/^### \[(\w+)\]/gm)].map((m) => m[1])).toEqual(['critical', 'warning', 'info']);
  });

  it('gives each critical finding its next step: commands as a code block, then the fix', () => {
    const critical = md.slice(md.indexOf('### [critical]'), md.indexOf('### [warning]'));
    expect(critical).toContain(
      ['Next step:', '', '```sh', 'findmnt -N 4242 | wc -l', 'cat /proc/4242/mountinfo | wc -l', '```', '', 'Fix: Find what keeps adding MS_BIND|MS_REC mounts'].join('\n'),
    );
  });

  it('links stored evidence relative to report.md, and shows evidence not stored yet as code', () => {
    // report.md is served as /v1/investigations/<id>/artifacts/report.md and stored beside the artifacts, so the
    // bare name resolves to the artifact in both places.
    // One row: the link opens just that row (the artifact route answers ?pointer=); its text is quoted.
    expect(md).toContain(
      [
        'Evidence:',
        '',
        '- [mounts/node-17/result.json](mounts/node-17/result.json?pointer=%2Fnamespaces%2F0) — row /namespaces/0: `{"ns":4026532156,"pid":4242,"comm":"containerd-shim","mounts":99990}`',
        '- `mount-calls/node-17/result.json`',
      ].join('\n'),
    );
    expect(md).toContain('- [errors/node-17/result.json](errors/node-17/result.json) — rows /rows/0, /rows/3');
    expect(md).toContain("Confidence: **high** — the kernel returned ENOSPC to 1,204 mount(2) calls of the target's processes, counted at the syscall's exit");
    const resolved = new URL('mounts/node-17/result.json', `http://x/v1/investigations/${shuffled.id}/artifacts/report.md`).pathname;
    expect(resolved).toBe(`/v1/investigations/${shuffled.id}/artifacts/mounts/node-17/result.json`);
  });

  it('encodes what a link cannot carry as it is, and keeps backquotes from closing code, and reads a record from before confidence', () => {
    // Stored before findings were rated: evidence as bare names, no confidence. Read as such, saying it was not rated.
    const odd = Investigation.parse({
      ...enospcSucceeded,
      summary: {
        headline: 'h',
        findings: [{ severity: 'critical', title: 't', detail: 'd', evidence: ['x/a b(1).json', 'y/`q`.txt'], next: { commands: ['echo ```'], remedy: 'r' } }],
      },
      artifacts: [{ name: 'x/a b(1).json', key: 'k', contentType: 'application/json', size: 1, url: '/v1/investigations/i/artifacts/x/a b(1).json' }],
    });
    const out = renderReportMarkdown(odd);
    expect(out).toContain('Evidence:\n\n- [x/a b(1).json](x/a%20b%281%29.json)\n- `` y/`q`.txt ``');
    expect(out).toContain('Confidence: **low** — not rated: recorded before findings carried their confidence');
    expect(out).toContain('````sh\necho ```\n````');
  });

  it('has a short section of what could not be looked at', () => {
    expect(mdSection(md, 'Not looked at')).toBe('\n## Not looked at\n\n- mount-path on node-17 could not run: the kernel has no function_graph tracer\n');
  });

  it('shows a step that was not needed only in the steps table, with its reason in words and every duration', () => {
    const steps = mdSection(md, 'Steps');
    expect(steps.split('\n').slice(3, 9)).toEqual([
      '| step | tool | node | status | duration | note |',
      '| --- | --- | --- | --- | --- | --- |',
      '| errors | syscount | node-17 | succeeded | 30.4 s |  |',
      '| mounts | mount-namespaces | node-17 | succeeded | 1.2 s |  |',
      '| watches | inotify-watches | — | skipped | — | not needed: no inotify_add_watch(2) failed |',
      '| mount-path | funcgraph | node-17 | skipped | — | the kernel has no function_graph tracer |',
    ]);
    const outsideSteps = md.replace(steps, '');
    expect(outsideSteps).not.toMatch(/watches|inotify_add_watch|not needed/);
  });

  it('lists artifacts as links with their kind and size', () => {
    expect(mdSection(md, 'Artifacts').split('\n').filter((l) => l.startsWith('- '))).toEqual([
      '- [errors/node-17/result.json](errors/node-17/result.json) — parsed result, 2.3 KiB',
      '- [mounts/node-17/result.json](mounts/node-17/result.json) — parsed result, 47.1 KiB',
      '- [report.html](report.html) — report.html, 9.6 KiB',
    ]);
  });

  it('says why a run without a summary ended, in the same words as chat', () => {
    const failed = renderReportMarkdown(enospcFailed);
    expect(failed).toContain('\n**Failed: node node-3 stopped heartbeating during the capture**\n');
    expect(failed).not.toContain('## Findings');
  });
});

describe('report.html', () => {
  const html = renderReportHtml(shuffled, new Map());

  it('puts the cards in severity order with their severity, next step and evidence links', () => {
    expect([...html.matchAll(/<article class="card sev-(\w+)"/g)].map((m) => m[1])).toEqual(['critical', 'warning', 'info']);
    expect(html).toContain('<pre class="cmd"><code>findmnt -N 4242 | wc -l\ncat /proc/4242/mountinfo | wc -l</code></pre>');
    expect(html).toContain('<p class="fix"><strong>Fix:</strong> Find what keeps adding MS_BIND|MS_REC mounts');
    // The record's own URL for a stored artifact; code, not a dead link, for one still spooled.
    expect(html).toContain(
      `<li><a href="/v1/investigations/${shuffled.id}/artifacts/mounts/node-17/result.json?pointer=%2Fnamespaces%2F0">mounts/node-17/result.json</a> <span class="place">row /namespaces/0</span> ` +
        '<code class="quote">{&quot;ns&quot;:4026532156,&quot;pid&quot;:4242,&quot;comm&quot;:&quot;containerd-shim&quot;,&quot;mounts&quot;:99990}</code></li>' +
        '<li><code title="not stored yet">mount-calls/node-17/result.json</code></li>',
    );
    expect(html).toContain('<p class="confidence conf-medium"><span class="label">Confidence</span> <strong>medium</strong> — a strong correlation:');
  });

  it('escapes what the investigation says', () => {
    expect(html).toContain('runc &lt;pid 5120&gt; in shop/cart-7d9f: 1,204 &amp; counting');
    expect(html).not.toContain('<pid 5120>');
  });

  it('shows a step that was not needed only in the steps table', () => {
    const table = html.slice(html.indexOf('<table class="steps">'), html.indexOf('</table>', html.indexOf('<table class="steps">')));
    expect(table).toContain('<td data-label="note" class="note">not needed: no inotify_add_watch(2) failed</td>');
    expect(html.replace(table, '')).not.toMatch(/inotify_add_watch|not needed/);
  });

  it('shows the notes and durations, and sizes in human units', () => {
    expect(html).toContain('<section class="notes"><h2>Not looked at</h2><ul>\n<li>mount-path on node-17 could not run: the kernel has no function_graph tracer</li>');
    expect(html).toContain('<td data-label="duration" class="num">30.4 s</td>');
    expect(html).toContain('<dt>Duration</dt><dd>32.4 s</dd>');
    expect(html).toContain('parsed result · 47.1 KiB');
  });
});
