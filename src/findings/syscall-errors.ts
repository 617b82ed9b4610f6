import { SyscountResult, type SyscountRow } from '../../bpf/bpftrace/syscount/result.ts';
import { formatCount, plural } from '../core/format.ts';
import type { Finding, Step } from '../core/investigation.ts';
import { fileText, nextStepFor } from './next-steps.ts';
import { fieldEvidence, rowEvidence } from './evidence.ts';
import { succeededSteps, type Draft } from './step-problems.ts';

type Row = SyscountRow & { node: string };

interface SyscallGroup {
  syscall: string;
  errno: string;
  count: number;
  rows: Row[];
}

function groupBySyscall(rows: Row[]): SyscallGroup[] {
  const groups = new Map<string, SyscallGroup>();
  for (const row of rows) {
    const k = `${row.syscall}/${row.errno}`;
    const g = groups.get(k) ?? { syscall: row.syscall, errno: row.errno, count: 0, rows: [] };
    g.count += row.count;
    g.rows.push(row);
    groups.set(k, g);
  }
  for (const g of groups.values()) g.rows.sort((a, b) => b.count - a.count);
  return [...groups.values()].sort((a, b) => b.count - a.count || a.syscall.localeCompare(b.syscall));
}

const where = (r: Row) => `${r.comm} (pid ${r.pid}, ${r.pod ? `pod ${r.pod}` : `cgroup ${r.cgroup ?? `#${r.cgroupId}`}`}, node ${r.node})`;

/** "sh (pid 4242, …): 48 times, writing /tmp/full/y (fd 3)". */
function processLine(r: Row): string {
  const files = r.files.slice(0, 3).map(fileText);
  const more = r.files.length > 3 ? `, and ${plural(r.files.length - 3, 'more descriptor')}` : '';
  return `- ${where(r)}: ${plural(r.count, 'time')}${files.length ? `, on ${files.join('; ')}${more}` : ''}`;
}

/**
 * Findings for a syscount step: one per failing syscall, naming the processes, cgroups, counts and the files the
 * calls were given, with what to run next. Pure: the same rows always give the same summary.
 */
export function summarizeSyscallErrors(input: { steps: Step[]; stepId: string; errno: string | null; durationText: string }): Draft {
  const ok = succeededSteps(input.steps, input.stepId);
  const rows = ok.flatMap((s) => SyscountResult.parse(s.result).rows.map((r) => ({ ...r, node: s.node ?? '?' })));
  const nodes = ok.map((s) => s.node).join(', ');
  const what = input.errno ? `with ${input.errno}` : 'with an error';

  if (ok.length === 0) {
    const reasons = [...new Set(input.steps.filter((s) => s.id === input.stepId).map((s) => s.reason).filter(Boolean))].join('; ');
    return { headline: `No capture of failing syscalls completed${reasons ? `: ${reasons}` : ''}`, findings: [] };
  }
  const groups = groupBySyscall(rows);
  if (groups.length === 0) {
    return {
      headline: `No syscall failed ${what} on ${nodes} during the ${input.durationText} capture`,
      findings: [
        {
          severity: 'info',
          title: `Ruled out: no syscall of the target failed ${what} in ${input.durationText}`,
          detail: `The kernel counted every syscall exit of the target's processes for ${input.durationText} on ${nodes}: none failed ${what}. If the failure is intermittent, capture for longer or while reproducing it.`,
          confidence: {
            level: 'high',
            reason: `counted in the kernel at every syscall exit of the target for the whole capture: ${plural(rows.length, 'failing call')}`,
          },
          evidence: fieldEvidence(input.steps, input.stepId, [['totalEvents'], ['rows']]),
        },
      ],
    };
  }

  const findings: Finding[] = groups.map((g) => {
    const lines = g.rows.slice(0, 10).map(processLine);
    if (g.rows.length > 10) lines.push(`- …and ${plural(g.rows.length - 10, 'more process', 'more processes')}`);
    const top = g.rows[0]!;
    const next = nextStepFor({ syscall: g.syscall, errno: g.errno, pid: top.pid, ...(top.files[0] ? { file: top.files[0] } : {}) });
    const nodesOf = new Set(g.rows.map((r) => r.node));
    return {
      severity: 'critical',
      title: `${g.syscall}(2) fails with ${g.errno} (${plural(g.count, 'time')})`,
      detail: lines.join('\n'),
      // The kernel returned the errno to these very calls of the target: nothing is inferred.
      confidence: {
        level: 'high',
        reason: `the kernel returned ${g.errno} to ${plural(g.count, `${g.syscall}(2) call`)} of the target's processes, counted at the syscall's exit`,
      },
      evidence: rowEvidence(input.steps, input.stepId, ['rows'], (r, _, node) => {
        const row = r as SyscountRow;
        return nodesOf.has(node ?? '?') && row.syscall === g.syscall && row.errno === g.errno;
      }),
      next,
    };
  });
  const top = groups[0]!;
  const topRow = top.rows[0]!;
  const file = topRow.files[0];
  const on = file?.state === 'open' && file.path ? ` on ${file.path}` : '';
  const others = groups.slice(1, 3).map((g) => `${g.syscall}(2) ×${formatCount(g.count)}`);
  const headline =
    `${top.syscall}(2)${on} failed with ${top.errno} ${plural(top.count, 'time')} in ${input.durationText}, ` +
    `most in ${where(topRow)}` +
    (others.length ? `; also ${others.join(', ')}` : '');
  return { headline, findings };
}
