import { describe, expect, it } from 'vitest';
import { summarizeCpuProfile } from '../../src/core/findings/cpu-profile.ts';
import { summarizeSyscallErrors } from '../../src/core/findings/syscall-errors.ts';
import type { Investigation, Step } from '../../src/core/investigation.ts';
import { renderReportMarkdown } from '../../src/core/report.ts';
import type { ProfileResult, SyscountResult, SyscountRow } from '../../src/core/tool-results.ts';

const row = (r: Partial<SyscountRow>): SyscountRow => ({
  syscall: 'write', errno: 'ENOSPC', comm: 'dd', pid: 1, cgroupId: 25, cgroup: '/app', pod: null, count: 1, ...r,
});
const step = (id: string, tool: string, result: unknown, over: Partial<Step> = {}): Step => ({
  id, tool, node: 'node-17', status: 'succeeded', artifacts: [], result, ...over,
});
const syscount = (rows: SyscountRow[]): SyscountResult => ({ rows, totalEvents: rows.reduce((n, r) => n + r.count, 0) });

describe('syscall error findings', () => {
  it('headlines the most failing syscall with the process and cgroup that failed most', () => {
    const s = summarizeSyscallErrors({
      stepId: 'errors',
      errno: 'ENOSPC',
      durationText: '10s',
      steps: [
        step('errors', 'syscount', syscount([
          row({ count: 1200, pid: 311, comm: 'writer' }),
          row({ count: 34, pid: 312, comm: 'logger', cgroup: null, cgroupId: 99 }),
          row({ syscall: 'mount', count: 12, pid: 400, comm: 'mount' }),
        ])),
      ],
    });
    expect(s.headline).toBe('write(2) failed with ENOSPC 1,234 times in 10s, most in writer (pid 311, cgroup /app, node node-17); also mount(2) ×12');
    expect(s.findings.map((f) => [f.severity, f.title])).toEqual([
      ['critical', 'write(2) fails with ENOSPC (1,234 times)'],
      ['critical', 'mount(2) fails with ENOSPC (12 times)'],
    ]);
    expect(s.findings[0]!.detail).toContain('- logger (pid 312, cgroup #99, node node-17): 34');
    expect(s.findings[1]!.detail).toContain('fs.mount-max');
    expect(s.findings[0]!.evidence).toEqual(['errors/node-17/result.json']);
  });

  it('says plainly when nothing failed, and when the capture itself failed', () => {
    const none = summarizeSyscallErrors({ stepId: 'errors', errno: 'ENOSPC', durationText: '5s', steps: [step('errors', 'syscount', syscount([]))] });
    expect(none.headline).toBe('No syscall failed with ENOSPC on node-17 during the 5s capture');
    const failed = summarizeSyscallErrors({
      stepId: 'errors', errno: 'ENOSPC', durationText: '5s',
      steps: [step('errors', 'syscount', undefined, { status: 'failed', reason: 'bpftrace unavailable: not found' })],
    });
    expect(failed.headline).toBe('No capture of failing syscalls completed: bpftrace unavailable: not found');
    expect(failed.findings[0]).toMatchObject({ severity: 'warning', title: 'syscount on node-17 failed' });
  });
});

describe('cpu profile findings', () => {
  const profile = (samples: number, fns: [string, number, number][], unknownSamples = 0): ProfileResult => ({
    samples, hz: 99, unknownSamples, artifacts: ['stacks.folded'], topFunctions: fns.map(([name, self, total]) => ({ name, self, total })),
  });

  it('merges nodes weighted by their samples and ranks by self share', () => {
    const s = summarizeCpuProfile({
      stepId: 'cpu', durationText: '10s',
      steps: [
        step('cpu', 'profile', profile(300, [['crunch_alpha', 0.6, 0.6], ['memcpy', 0.1, 0.1]])),
        step('cpu', 'profile', profile(100, [['memcpy', 0.9, 0.9]]), { node: 'node-18' }),
      ],
    });
    // crunch_alpha: 0.6*300/400 = 0.45; memcpy: (0.1*300 + 0.9*100)/400 = 0.3
    expect(s.headline).toBe('Hottest function on node-17, node-18: crunch_alpha — 45% of 400 samples on CPU itself (45% with callees)');
    expect(s.findings[0]!.detail.split('\n')).toEqual(['1. crunch_alpha — self 45%, total 45%', '2. memcpy — self 30%, total 30%']);
  });

  it('says how much of the profile has no symbols, when that is a lot', () => {
    const s = summarizeCpuProfile({ stepId: 'cpu', durationText: '3s', steps: [step('cpu', 'profile', profile(200, [['f', 0.5, 0.5]], 50))] });
    expect(s.findings[1]).toMatchObject({ severity: 'info', title: '25% of samples have frames without symbols' });
    const few = summarizeCpuProfile({ stepId: 'cpu', durationText: '3s', steps: [step('cpu', 'profile', profile(200, [['f', 0.5, 0.5]], 5))] });
    expect(few.findings).toHaveLength(1);
  });

  it('calls an idle target idle', () => {
    const s = summarizeCpuProfile({ stepId: 'cpu', durationText: '3s', steps: [step('cpu', 'profile', profile(0, []))] });
    expect(s.headline).toMatch(/^No on-CPU samples/);
  });
});

describe('report.md', () => {
  it('renders the headline, findings, steps and artifacts', () => {
    const inv: Investigation = {
      id: 'inv_01234567890123456789012345', status: 'succeeded', playbook: 'enospc', target: { cgroup: '/app' }, params: {},
      createdAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:11.000Z', requestedBy: 'slack:U1',
      steps: [step('errors', 'syscount', {}, { startedAt: '2026-01-01T00:00:00.500Z', finishedAt: '2026-01-01T00:00:10.500Z', artifacts: ['errors/node-17/raw.json'], reason: 'a|b' })],
      summary: { headline: 'write(2) failed', findings: [{ severity: 'critical', title: 'T', detail: 'D', evidence: ['errors'] }] },
      artifacts: [],
    };
    const md = renderReportMarkdown(inv);
    expect(md).toContain('**write(2) failed**');
    expect(md).toContain('### [critical] T');
    expect(md).toContain('| errors | syscount | node-17 | succeeded | 10.0 s | a\\|b |');
    expect(md).toContain('- errors/node-17/raw.json');
    expect(md).toContain('- Target: cgroup=/app');
  });
});
