import { describe, expect, it } from 'vitest';
import type { Investigation } from '../../src/core/investigation.ts';
import { ARTIFACT_PAGE_MAX, isTextContentType, textPage, type TextPage } from '../../src/mcp/artifact-page.ts';
import { INVESTIGATION_VIEW_BUDGET, investigationView } from '../../src/mcp/investigation-view.ts';

const base: Investigation = {
  id: 'inv_01jd3zq8k2m4n6p8r0s2t4v6w8',
  status: 'succeeded',
  playbook: 'file-errors',
  symptom: 'app says permission denied',
  routing: { playbook: 'file-errors', score: 0.9, confident: true, why: 'permission denied', alternatives: [{ playbook: 'triage', score: 0.1, why: 'fallback' }] },
  target: { node: 'node-1' },
  params: { duration: 1000 },
  createdAt: '2026-12-06T05:00:00.000Z',
  finishedAt: '2026-12-06T05:00:03.000Z',
  requestedBy: 'token:admin',
  steps: [
    { id: 'opens', tool: 'opensnoop', node: 'node-1', status: 'succeeded', result: { rows: Array.from({ length: 1000 }, (_, i) => ({ path: `/p/${i}` })) }, artifacts: ['opens/node-1/result.json'] },
    { id: 'errors', tool: 'syscount', node: 'node-1', status: 'failed', reason: 'bpftrace exited 1', artifacts: [] },
  ],
  summary: {
    headline: 'app: 40 EACCES opens of /etc/app.conf',
    findings: [
      {
        severity: 'critical',
        title: 'app cannot open /etc/app.conf',
        detail: 'EACCES ×40',
        confidence: { level: 'high', reason: 'the kernel returned EACCES 40 times for the target' },
        evidence: [{ artifact: 'opens/node-1/result.json', rows: ['/rows/0'], quote: 'app /etc/app.conf EACCES 40' }],
        next: { commands: ['ls -l /etc/app.conf'], remedy: 'fix the mode' },
      },
    ],
    notes: [],
  },
  artifacts: [{ name: 'opens/node-1/result.json', key: 'k', contentType: 'application/json', size: 51234, url: '/u' }],
};

describe('get_investigation view', () => {
  it('keeps what a reader needs and never a step result', () => {
    const view = investigationView(base);
    expect(view).toMatchObject({
      id: base.id,
      status: 'succeeded',
      headline: base.summary!.headline,
      routing: base.routing,
      findings: [{ severity: 'critical', confidence: { level: 'high' }, evidence: [{ artifact: 'opens/node-1/result.json', rows: ['/rows/0'] }] }],
      steps: [
        { id: 'opens', status: 'succeeded', tool: 'opensnoop', node: 'node-1' },
        { id: 'errors', status: 'failed', tool: 'syscount', node: 'node-1', error: 'bpftrace exited 1' },
      ],
      artifacts: [{ name: 'opens/node-1/result.json', contentType: 'application/json', size: 51234 }],
    });
    expect(JSON.stringify(view)).not.toContain('/p/999');
  });

  it('stays within its budget however big the record, each cut list ending with how many it left out', () => {
    const n = 300;
    const big: Investigation = {
      ...base,
      steps: Array.from({ length: n }, (_, i) => ({ ...base.steps[1]!, node: `node-${i}`, reason: 'r'.repeat(5000) })),
      summary: {
        headline: 'h'.repeat(10_000),
        findings: Array.from({ length: n }, () => ({ ...base.summary!.findings[0]!, detail: 'd'.repeat(20_000), evidence: Array.from({ length: 40 }, () => base.summary!.findings[0]!.evidence[0]!) })),
        notes: Array.from({ length: n }, () => 'n'.repeat(2000)),
      },
      artifacts: Array.from({ length: n }, (_, i) => ({ ...base.artifacts[0]!, name: `a/node-${i}/result.json` })),
    };
    for (const budget of [INVESTIGATION_VIEW_BUDGET, 8 * 1024]) {
      const view = investigationView(big, budget);
      expect(Buffer.byteLength(JSON.stringify(view))).toBeLessThanOrEqual(budget);
      const kept = view.findings.filter((f) => typeof f !== 'string').length;
      expect(kept).toBeGreaterThan(0);
      expect(view.findings.at(-1)).toBe(`… ${n - kept} more findings not shown`);
      const steps = view.steps.filter((s) => typeof s !== 'string').length;
      expect(view.steps.at(-1)).toBe(`… ${n - steps} more steps not shown`);
      expect(view.headline!.length).toBeLessThanOrEqual(600);
    }
    // At the real budget every list keeps at least its floor: eight steps beside the findings.
    expect(investigationView(big).steps.filter((s) => typeof s !== 'string').length).toBeGreaterThanOrEqual(8);
  });

  it('keeps every step of a short run however long its findings', () => {
    const heavy: Investigation = {
      ...base,
      summary: {
        ...base.summary!,
        findings: Array.from({ length: 40 }, (_, i) => ({ ...base.summary!.findings[0]!, title: `finding ${i}`, detail: 'd'.repeat(5000), evidence: Array.from({ length: 10 }, () => ({ artifact: 'opens/node-1/result.json', quote: 'q'.repeat(300) })) })),
      },
    };
    const view = investigationView(heavy);
    expect(Buffer.byteLength(JSON.stringify(view))).toBeLessThanOrEqual(INVESTIGATION_VIEW_BUDGET);
    expect(view.steps).toEqual([expect.objectContaining({ id: 'opens' }), expect.objectContaining({ id: 'errors' })]);
    expect(view.artifacts).toHaveLength(1);
    expect(view.findings.length).toBeGreaterThan(3);
    expect(view.findings.at(-1)).toMatch(/^… \d+ more findings not shown$/);
  });
});

describe('get_artifact pages', () => {
  it('reads text types and refuses the rest', () => {
    for (const t of ['application/json', 'text/plain; charset=utf-8', 'image/svg+xml', 'text/markdown', 'application/vnd.speedscope+json']) expect(isTextContentType(t), t).toBe(true);
    for (const t of ['application/gzip', 'image/png', 'application/octet-stream']) expect(isTextContentType(t), t).toBe(false);
  });

  it('cuts pages at whole UTF-8 characters, the pages making up the bytes exactly', () => {
    const text = 'é→𝄞 ok '.repeat(500);
    const bytes = new TextEncoder().encode(text);
    for (const limit of [1, 3, 7, 100, ARTIFACT_PAGE_MAX]) {
      let offset: number | null = 0;
      let out = '';
      let pages = 0;
      while (offset !== null) {
        const page: TextPage = textPage(bytes, offset, limit)!;
        expect(page.offset).toBe(offset);
        expect(page.length).toBeGreaterThan(0);
        expect(page.length).toBeLessThanOrEqual(Math.max(limit, 4));
        out += page.text;
        offset = page.nextOffset;
        pages++;
      }
      expect(out).toBe(text);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(bytes.length / Math.max(limit, 4)));
    }
    // An offset inside a character moves on to the next whole one.
    expect(textPage(bytes, 1, 10)!.offset).toBe(2);
  });

  it('says null for bytes that are not UTF-8', () => {
    expect(textPage(new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe]), 0, 100)).toBeNull();
  });
});
