import { describe, expect, it } from 'vitest';
import { summarizeCpuProfile } from '../../src/findings/cpu-profile.ts';
import { summarizeSyscallErrors } from '../../src/findings/syscall-errors.ts';
import type { Investigation, Step } from '../../src/core/investigation.ts';
import { renderReportMarkdown } from '../../src/report/markdown.ts';
import type { ProfileResult } from '../../bpf/bpftrace/profile/result.ts';
import type { SyscountResult, SyscountRow } from '../../bpf/bpftrace/syscount/result.ts';

const row = (r: Partial<SyscountRow>): SyscountRow => ({
  syscall: 'write', errno: 'ENOSPC', comm: 'dd', pid: 1, cgroupId: 25, cgroup: '/app', pod: null, count: 1, files: [], ...r,
});
const step = (id: string, tool: string, result: unknown, over: Partial<Step> = {}): Step => ({
  id, tool, node: 'node-17', status: 'succeeded', artifacts: [`${id}/${over.node ?? 'node-17'}/raw.json`, `${id}/${over.node ?? 'node-17'}/result.json`], result, ...over,
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
    expect(s.findings[0]!.detail).toContain('- logger (pid 312, cgroup #99, node node-17): 34 times');
    expect(s.findings[1]!.next?.commands).toContain('sysctl fs.mount-max');
    expect(s.findings[1]!.next?.commands).toContain('wc -l < /proc/400/mountinfo');
    expect(s.findings[1]!.next?.remedy).toMatch(/MNT_DETACH.*stopgap/s);
    // The rows of the failing calls themselves: the kernel returned the errno to them, so the finding is sure.
    expect(s.findings[0]!.evidence).toEqual([{ artifact: 'errors/node-17/result.json', rows: ['/rows/0', '/rows/1'], quote: expect.stringContaining('"comm":"writer"') }]);
    expect(s.findings[1]!.evidence).toMatchObject([{ artifact: 'errors/node-17/result.json', rows: ['/rows/2'] }]);
    expect(s.findings[0]!.confidence).toEqual({
      level: 'high',
      reason: "the kernel returned ENOSPC to 1,234 write(2) calls of the target's processes, counted at the syscall's exit",
    });
  });

  it('names the file a failing write went to, or says its descriptor was closed', () => {
    const open = { fd: 3, count: 40, path: '/var/lib/my app/data.log', state: 'open' as const, deleted: false };
    const s = summarizeSyscallErrors({
      stepId: 'errors', errno: 'ENOSPC', durationText: '5s',
      steps: [step('errors', 'syscount', syscount([
        row({ count: 40, pid: 311, comm: 'writer', files: [open] }),
        row({ count: 7, pid: 312, comm: 'sh', files: [{ fd: 1, count: 7, path: null, state: 'closed', deleted: false }] }),
      ]))],
    });
    expect(s.headline).toBe('write(2) on /var/lib/my app/data.log failed with ENOSPC 47 times in 5s, most in writer (pid 311, cgroup /app, node node-17)');
    expect(s.findings[0]!.detail.split('\n')).toEqual([
      '- writer (pid 311, cgroup /app, node node-17): 40 times, on /var/lib/my app/data.log (fd 3)',
      '- sh (pid 312, cgroup /app, node node-17): 7 times, on fd 1, closed or replaced after it failed',
    ]);
    // Commands look at the path in the process's own mount namespace, quoted as one shell word.
    expect(s.findings[0]!.next?.commands).toEqual([
      'ls -l /proc/311/fd/3',
      "nsenter -t 311 -m df -h '/var/lib/my app/data.log'",
      "nsenter -t 311 -m df -i '/var/lib/my app/data.log'",
    ]);
    const closed = summarizeSyscallErrors({
      stepId: 'errors', errno: 'ENOSPC', durationText: '5s',
      steps: [step('errors', 'syscount', syscount([row({ count: 7, pid: 312, comm: 'sh', files: [{ fd: 1, count: 7, path: null, state: 'exited', deleted: false }] })]))],
    });
    expect(closed.headline).toMatch(/^write\(2\) failed with ENOSPC/);
    expect(closed.findings[0]!.detail).toContain('on fd 1, its process exited before the capture ended');
    expect(closed.findings[0]!.next?.commands[1]).toBe('findmnt -N 312 -o TARGET,FSTYPE,SIZE,USED,AVAIL,USE%');
  });

  it('says plainly when nothing failed, and when the capture itself failed', () => {
    const none = summarizeSyscallErrors({ stepId: 'errors', errno: 'ENOSPC', durationText: '5s', steps: [step('errors', 'syscount', syscount([]))] });
    expect(none.headline).toBe('No syscall failed with ENOSPC on node-17 during the 5s capture');
    // What was ruled out, with the figures it rests on.
    expect(none.findings).toEqual([
      {
        severity: 'info',
        title: 'Ruled out: no syscall of the target failed with ENOSPC in 5s',
        detail: expect.stringContaining("The kernel counted every syscall exit of the target's processes for 5s on node-17: none failed with ENOSPC."),
        confidence: { level: 'high', reason: 'counted in the kernel at every syscall exit of the target for the whole capture: 0 failing calls' },
        evidence: [{ artifact: 'errors/node-17/result.json', rows: ['/totalEvents', '/rows'], quote: '{"/totalEvents":0,"/rows":[]}' }],
      },
    ]);
    const failed = summarizeSyscallErrors({
      stepId: 'errors', errno: 'ENOSPC', durationText: '5s',
      steps: [step('errors', 'syscount', undefined, { status: 'failed', reason: 'bpftrace unavailable: not found' })],
    });
    expect(failed.headline).toBe('No capture of failing syscalls completed: bpftrace unavailable: not found');
    // The failed step itself is told once per summary, by the playbook (step-problems.ts), not by each summarizer.
    expect(failed.findings).toEqual([]);
  });
});

describe('cpu profile findings', () => {
  const profile = (samples: number, fns: [string, number, number][], unknownSamples = 0, processes: ProfileResult['processes'] = []): ProfileResult => ({
    samples, hz: 99, unknownSamples, artifacts: ['stacks.folded'], topFunctions: fns.map(([name, self, total]) => ({ name, self, total })), processes,
  });

  it('names who burns the CPU: the command with the most samples over every node, with its pids', () => {
    const s = summarizeCpuProfile({
      stepId: 'cpu', durationText: '10s',
      steps: [
        step('cpu', 'profile', profile(300, [['crunch_alpha', 0.6, 0.6]], 0, [{ pid: 41, comm: 'th-burner', samples: 200 }, { pid: 7, comm: 'dd', samples: 100 }])),
        step('cpu', 'profile', profile(100, [['crunch_alpha', 0.5, 0.5]], 0, [{ pid: 42, comm: 'th-burner', samples: 60 }, { pid: 9, comm: 'dd', samples: 40 }]), { node: 'node-18' }),
      ],
    });
    // crunch_alpha: (0.6*300 + 0.5*100)/400 = 57.5%; th-burner: 260 of 400 samples, dd 140.
    expect(s.headline).toBe(
      'Hottest function on node-17, node-18: crunch_alpha — 57% of 400 samples on CPU itself (57% with callees), mostly in th-burner (pids 41, 42: 65% of samples)',
    );
    expect(s.findings[0]!.evidence).toContainEqual({ artifact: 'cpu/node-17/result.json', rows: ['/processes/0'], quote: expect.stringContaining('th-burner') });
    expect(s.findings[0]!.evidence).toContainEqual({ artifact: 'cpu/node-18/result.json', rows: ['/processes/0'], quote: expect.stringContaining('th-burner') });
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
    // 400 samples are a glimpse: the ranking is a hint, and says so.
    expect(s.findings[0]!.confidence).toEqual({ level: 'low', reason: 'a hint: only 400 samples on CPU, too few to rank functions firmly' });
    expect(s.findings[0]!.evidence).toEqual([
      { artifact: 'cpu/node-17/result.json', rows: ['/topFunctions/0', '/topFunctions/1'], quote: expect.stringContaining('crunch_alpha') },
      { artifact: 'cpu/node-18/result.json', rows: ['/topFunctions/0'], quote: '{"name":"memcpy","self":0.9,"total":0.9}' },
    ]);
  });

  it('rates a profile by its samples and how much one function holds', () => {
    const rate = (samples: number, self: number) =>
      summarizeCpuProfile({ stepId: 'cpu', durationText: '30s', steps: [step('cpu', 'profile', profile(samples, [['f', self, self]]))] }).findings[0]!.confidence;
    expect(rate(5000, 0.4)).toEqual({ level: 'high', reason: '5,000 samples with 40% in one function: a measured share, not an inference' });
    expect(rate(5000, 0.05)).toEqual({ level: 'medium', reason: '5,000 samples; the hottest function holds 5.0% of them on CPU itself' });
    expect(rate(800, 0.9).level).toBe('medium');
    expect(rate(120, 0.9).level).toBe('low');
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
      summary: {
        headline: 'write(2) failed',
        findings: [
          {
            severity: 'critical', title: 'T', detail: 'D', confidence: { level: 'high', reason: 'the kernel said so' },
            evidence: [{ artifact: 'errors/node-17/raw.json' }, { artifact: 'errors/node-17/result.json', rows: ['/rows/0'], quote: '{"syscall":"write"}' }],
          },
        ],
        notes: [],
      },
      artifacts: [],
    };
    const md = renderReportMarkdown(inv);
    expect(md).toContain('**write(2) failed**');
    expect(md).toContain('### [critical] T');
    expect(md).toContain('Confidence: **high** — the kernel said so');
    expect(md).toContain('- `errors/node-17/result.json` — row /rows/0: `{"syscall":"write"}`');
    expect(md).toContain('| errors | syscount | node-17 | succeeded | 10.0 s | a\\|b |');
    expect(md).toContain('- errors/node-17/raw.json');
    expect(md).toContain('- Target: cgroup=/app');
  });
});
