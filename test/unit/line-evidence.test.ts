import { describe, expect, it } from 'vitest';
import { oomkill } from '../../bpf/bpftrace/oomkill/manifest.ts';
import { bpftraceMapLines } from '../../bpf/raw-lines.ts';
import { artifactPart } from '../../src/api/routes/artifact-part.ts';
import type { Step, Summary } from '../../src/core/investigation.ts';
import { lineEvidence, rowEvidence } from '../../src/findings/evidence.ts';
import { toolFixture } from '../helpers/recordings.ts';
import { summaryProblems } from '../helpers/summary-lint.ts';

const ctx = { arch: 'x64' as const, cgroupPathOf: () => null };
const stdout = toolFixture('oomkill', 'memcg-two-kills.json');
const result = oomkill.parse(stdout, {}, ctx).result;
const step: Step = { id: 'kills', tool: 'oomkill', node: 'n1', status: 'succeeded', result, artifacts: ['kills/n1/raw.json', 'kills/n1/result.json'] };

describe('evidence by lines of a raw output', () => {
  it('finds a map entry on the line of its map, quoted as bpftrace printed it, and nothing that is not there', () => {
    const at = bpftraceMapLines(stdout);
    expect(at('@triggers', '1141,31885,31885,31885,1127,th-grow er')).toEqual({ line: 5, text: '"1141,31885,31885,31885,1127,th-grow er": 1' });
    expect(at('@victims', '1141,31885,31885,31885,1127,th-grow er')).toBeNull();
    expect(at('@nope', 'x')).toBeNull();
    // A prefix of a key is not the key.
    expect(at('@victims', '1141,31885')).toBeNull();
  });

  it('points a row at its line beside its place in result.json, and the artifact route serves the quoted text there', () => {
    // Only where asked for (playbook rules ask): a summary checked without the raw texts at hand gets rows only.
    expect(rowEvidence([step], 'kills', ['kills'], () => true)).toHaveLength(1);
    const evidence = rowEvidence([step], 'kills', ['kills'], (k) => (k as { pid: number }).pid === 31777, { lines: true });
    expect(evidence).toHaveLength(2);
    expect(evidence[0]).toMatchObject({ artifact: 'kills/n1/result.json', rows: ['/kills/0'] });
    const lines = evidence[1]!;
    expect(lines).toEqual({ artifact: 'kills/n1/raw.json', lines: [6, 6], quote: '"1094,31777,0,43596,41216,1188,0,128,500,th-hold,er": 1' });
    const part = artifactPart('kills/n1/raw.json', Buffer.from(stdout), { lines: `${lines.lines![0]}-${lines.lines![1]}` });
    expect(part?.body).toContain(lines.quote);
    expect(part?.body.startsWith('{"type": "map", "data": {"@victims"')).toBe(true);
    // The lint checks the range against the stored text, as it checks rows against the stored result.
    const summary: Summary = { headline: 'h', notes: [], findings: [{ severity: 'info', title: 't', detail: 'd', confidence: { level: 'high', reason: 'r' }, evidence }] };
    expect(summaryProblems(summary, [step], new Map([['kills/n1/raw.json', stdout]]))).toEqual([]);
    expect(summaryProblems(summary, [step], new Map([['kills/n1/raw.json', 'one line\n']]))).toEqual([
      'findings[0].evidence[1]: lines 6-6 past the end of kills/n1/raw.json (1 lines)',
    ]);
  });

  it('gives no lines for rows that do not say where they came from, or when the raw output is not stored', () => {
    expect(lineEvidence(step, [{ pid: 1 }])).toEqual([]);
    expect(lineEvidence({ ...step, artifacts: ['kills/n1/result.json'] }, result.kills)).toEqual([]);
    // Two rows: one range over both lines, the first one's text quoted.
    expect(lineEvidence(step, [{ raw: { line: 9, text: '"b": 1' } }, { raw: { line: 4, text: '"a": 1' } }])).toEqual([
      { artifact: 'kills/n1/raw.json', lines: [4, 9], quote: '"b": 1' },
    ]);
  });
});
