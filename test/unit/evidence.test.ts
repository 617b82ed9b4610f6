import { describe, expect, it } from 'vitest';
import { Finding, type Step, type Summary } from '../../src/core/investigation.ts';
import { jsonPointer, pointerSegments, resolvePointer } from '../../src/core/json-pointer.ts';
import { fieldEvidence, quoteOf, rowEvidence } from '../../src/findings/evidence.ts';
import { evidencePlace, evidenceQuery, withEvidenceQuery } from '../../src/report/view.ts';
import { renderReportMarkdown } from '../../src/report/markdown.ts';
import { summaryProblems } from '../helpers/summary-lint.ts';

const result = { rows: [{ pid: 1, comm: 'a' }, { pid: 2, comm: 'b' }, { pid: 3, comm: 'c' }], total: 3, 'a/b': { '~k': 7 } };
const step = (over: Partial<Step> = {}): Step => ({
  id: 'errors', tool: 'syscount', node: 'n1', status: 'succeeded', result, artifacts: ['errors/n1/raw.txt', 'errors/n1/result.json'], ...over,
});

describe('JSON pointers', () => {
  it('escape "~" and "/", and resolve only what is there', () => {
    expect(jsonPointer(['a/b', '~k'])).toBe('/a~1b/~0k');
    expect(pointerSegments('/a~1b/~0k')).toEqual(['a/b', '~k']);
    expect(resolvePointer(result, '/a~1b/~0k')).toBe(7);
    expect(resolvePointer(result, '/rows/2/comm')).toBe('c');
    expect(resolvePointer(result, '')).toBe(result);
    for (const p of ['/rows/3', '/rows/-1', '/rows/01', '/rows/x', '/nope', '/total/x']) expect(resolvePointer(result, p), p).toBeUndefined();
    // Inherited properties are not the document's.
    expect(resolvePointer({}, '/constructor')).toBeUndefined();
  });
});

describe('evidence from results', () => {
  it('points at the rows that count on each node, quoting the first ones, and leaves out nodes with none', () => {
    const steps = [step(), step({ node: 'n2', artifacts: ['errors/n2/result.json'], result: { rows: [{ pid: 9, comm: 'z' }] } })];
    expect(rowEvidence(steps, 'errors', ['rows'], (r) => (r as { pid: number }).pid >= 2)).toEqual([
      { artifact: 'errors/n1/result.json', rows: ['/rows/1', '/rows/2'], quote: '{"pid":2,"comm":"b"}\n{"pid":3,"comm":"c"}' },
      { artifact: 'errors/n2/result.json', rows: ['/rows/0'], quote: '{"pid":9,"comm":"z"}' },
    ]);
    expect(rowEvidence(steps, 'errors', ['rows'], () => false)).toEqual([]);
    // A result.json not stored (nor spooled) cannot be pointed into.
    expect(rowEvidence([step({ artifacts: [] })], 'errors', ['rows'], () => true)).toEqual([]);
    expect(fieldEvidence([step()], 'errors', [['total'], ['missing']])).toEqual([{ artifact: 'errors/n1/result.json', rows: ['/total'], quote: '{"/total":3}' }]);
  });

  it('cuts a quote to its bound', () => {
    const q = quoteOf([{ text: 'x'.repeat(1000) }])!;
    expect(q).toHaveLength(300);
    expect(q.endsWith('…')).toBe(true);
  });
});

describe('evidence in a report', () => {
  const e = (over: object) => ({ artifact: 'errors/n1/raw.txt', ...over });
  it('says where in the artifact, and asks the artifact route for just that part', () => {
    expect(evidencePlace(e({ lines: [12, 40] }))).toBe('lines 12–40');
    expect(evidencePlace(e({ lines: [7, 7] }))).toBe('line 7');
    expect(evidencePlace(e({ rows: ['/rows/1', '/rows/2'] }))).toBe('rows /rows/1, /rows/2');
    expect(evidencePlace(e({}))).toBe('');
    expect(evidenceQuery(e({ lines: [12, 40] }))).toBe('lines=12-40');
    expect(evidenceQuery(e({ rows: ['/a~1b'] }))).toBe('pointer=%2Fa~1b');
    expect(evidenceQuery(e({ rows: ['/rows/1', '/rows/2'] }))).toBe('');
    expect(withEvidenceQuery('/x?exp=1&sig=s', e({ lines: [1, 2] }))).toBe('/x?exp=1&sig=s&lines=1-2');
    expect(withEvidenceQuery('/x', e({}))).toBe('/x');
  });

  it('renders a line range as a link to those lines, with the quote', () => {
    const md = renderReportMarkdown({
      id: 'inv_x', status: 'succeeded', playbook: 'p', params: {}, createdAt: '2026-01-01T00:00:00.000Z', requestedBy: 't', steps: [step()],
      summary: {
        headline: 'h',
        findings: [{ severity: 'warning', title: 't', detail: 'd', confidence: { level: 'low', reason: 'a hint' }, evidence: [{ artifact: 'errors/n1/raw.txt', lines: [2, 3], quote: 'two\nthree' }] }],
        notes: [],
      },
      artifacts: [{ name: 'errors/n1/raw.txt', key: 'k', contentType: 'text/plain', size: 20, url: '/v1/investigations/inv_x/artifacts/errors/n1/raw.txt' }],
    });
    expect(md).toContain('Confidence: **low** — a hint');
    expect(md).toContain('- [errors/n1/raw.txt](errors/n1/raw.txt?lines=2-3) — lines 2–3: `two three`');
  });
});

describe('the summary lint on evidence and confidence', () => {
  const finding = (over: object) =>
    Finding.parse({ severity: 'warning', title: 'Slow', detail: 'd', confidence: { level: 'medium', reason: 'measured' }, evidence: [], ...over });
  const lint = (f: Finding, texts?: Map<string, string>) =>
    summaryProblems({ headline: 'h', findings: [f], notes: [] } satisfies Summary, [step()], texts);

  it('passes evidence that resolves, and names each way it can fail', () => {
    expect(lint(finding({ evidence: [{ artifact: 'errors/n1/result.json', rows: ['/rows/2'] }] }))).toEqual([]);
    expect(lint(finding({ evidence: [{ artifact: 'errors/n1/result.json', rows: ['/rows/3'] }] }))).toEqual([
      'findings[0].evidence[0]: row /rows/3 points at nothing in errors/n1/result.json',
    ]);
    expect(lint(finding({ evidence: [{ artifact: 'errors/n1/raw.txt', rows: ['/rows/0'] }] }))).toEqual([
      "findings[0].evidence[0]: rows given for errors/n1/raw.txt, which is not a step's result.json",
    ]);
    expect(lint(finding({ evidence: [{ artifact: 'errors/n9/result.json' }] }))).toEqual(['findings[0].evidence[0]: "errors/n9/result.json" is no artifact of these steps']);
    const lines = finding({ evidence: [{ artifact: 'errors/n1/raw.txt', lines: [2, 6] }] });
    expect(lint(lines, new Map([['errors/n1/raw.txt', 'a\nb\nc\nd\ne\nf\n']]))).toEqual([]);
    expect(lint(lines, new Map([['errors/n1/raw.txt', 'a\nb\nc\n']]))).toEqual(['findings[0].evidence[0]: lines 2-6 past the end of errors/n1/raw.txt (3 lines)']);
    expect(lint(lines)).toEqual(['findings[0].evidence[0]: lines of errors/n1/raw.txt, whose text was not given to check them against']);
  });

  it('wants a cause and a "ruled out" to point at rows, and a reason that reads well', () => {
    const next = { commands: ['c'], remedy: 'r' };
    expect(lint(finding({ severity: 'critical', next, evidence: [{ artifact: 'errors/n1/result.json' }] }))).toEqual([
      'findings[0]: a critical finding without the rows or lines that support it',
    ]);
    expect(lint(finding({ severity: 'info', title: 'Ruled out: no OOM kill', evidence: [] }))).toEqual(['findings[0]: "ruled out" without the figures it rests on']);
    expect(lint(finding({ confidence: { level: 'high', reason: 'counted:  ' } }))).toEqual([
      'findings[0].confidence.reason: leading or trailing space: "counted:  "',
      'findings[0].confidence.reason: a run of spaces: "counted:  "',
      'findings[0].confidence.reason: nothing after a colon (an empty list?): "counted:  "',
    ]);
  });
});
