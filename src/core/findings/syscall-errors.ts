import { formatCount, plural } from '../format.ts';
import type { Finding, Step, Summary } from '../investigation.ts';
import { SyscountResult, type SyscountRow } from '../tool-results.ts';
import { stepProblemFindings, succeededSteps } from './step-problems.ts';

/** Where to look next, per failing syscall; the ENOSPC cases are the ones the field keeps meeting. */
const NEXT_STEP: Record<string, Record<string, string>> = {
  ENOSPC: {
    mount: 'mount(2) returns ENOSPC when a mount namespace reaches fs.mount-max: count the mounts in the namespace (/proc/<pid>/mountinfo) and look for leaking bind mounts.',
    inotify_add_watch: 'inotify_add_watch(2) returns ENOSPC when the user hits fs.inotify.max_user_watches: count watches per process (/proc/*/fdinfo).',
    write: 'A filesystem is full: find the file the process writes to and check that filesystem\'s usage (df) and inodes (df -i).',
    pwrite64: 'A filesystem is full: check the usage (df) and inodes (df -i) of the filesystem being written.',
    writev: 'A filesystem is full: check the usage (df) and inodes (df -i) of the filesystem being written.',
    fallocate: 'A filesystem cannot reserve the space asked for: check its usage (df).',
    openat: 'Creating a file failed: the filesystem is out of inodes or space (df -i, df).',
    open: 'Creating a file failed: the filesystem is out of inodes or space (df -i, df).',
    mkdir: 'Creating a directory failed: the filesystem is out of inodes or space (df -i, df).',
    mkdirat: 'Creating a directory failed: the filesystem is out of inodes or space (df -i, df).',
    keyctl: 'The kernel keyring quota is exhausted: check kernel.keys.maxkeys / maxbytes.',
  },
};

interface SyscallGroup {
  syscall: string;
  errno: string;
  count: number;
  rows: (SyscountRow & { node: string })[];
}

function groupBySyscall(rows: (SyscountRow & { node: string })[]): SyscallGroup[] {
  const groups = new Map<string, SyscallGroup>();
  for (const row of rows) {
    const k = `${row.syscall}/${row.errno}`;
    const g = groups.get(k) ?? { syscall: row.syscall, errno: row.errno, count: 0, rows: [] };
    g.count += row.count;
    g.rows.push(row);
    groups.set(k, g);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.syscall.localeCompare(b.syscall));
}

const where = (r: SyscountRow & { node: string }) =>
  `${r.comm} (pid ${r.pid}, ${r.pod ? `pod ${r.pod}` : `cgroup ${r.cgroup ?? `#${r.cgroupId}`}`}, node ${r.node})`;

/**
 * Findings for a syscount step: one per failing syscall, naming the processes and cgroups and the counts.
 * Pure: the same rows always give the same summary.
 */
export function summarizeSyscallErrors(input: { steps: Step[]; stepId: string; errno: string | null; durationText: string }): Summary {
  const ok = succeededSteps(input.steps, input.stepId);
  const rows = ok.flatMap((s) => SyscountResult.parse(s.result).rows.map((r) => ({ ...r, node: s.node ?? '?' })));
  const problems = stepProblemFindings(input.steps);
  const nodes = ok.map((s) => s.node).join(', ');
  const what = input.errno ? `with ${input.errno}` : 'with an error';

  if (ok.length === 0) {
    const reasons = input.steps.map((s) => s.reason).filter(Boolean).join('; ');
    return { headline: `No capture of failing syscalls completed${reasons ? `: ${reasons}` : ''}`, findings: problems };
  }
  const groups = groupBySyscall(rows);
  if (groups.length === 0) {
    return {
      headline: `No syscall failed ${what} on ${nodes} during the ${input.durationText} capture`,
      findings: [
        {
          severity: 'info',
          title: `No failing syscalls ${what}`,
          detail: `The target made no syscall that failed ${what} while it was traced. If the failure is intermittent, capture for longer or while reproducing it.`,
          evidence: ok.map((s) => s.id),
        },
        ...problems,
      ],
    };
  }

  const findings: Finding[] = groups.map((g) => {
    const byProcess = [...g.rows].sort((a, b) => b.count - a.count);
    const lines = byProcess.slice(0, 10).map((r) => `- ${where(r)}: ${formatCount(r.count)}`);
    if (byProcess.length > 10) lines.push(`- …and ${plural(byProcess.length - 10, 'more process', 'more processes')}`);
    const hint = NEXT_STEP[g.errno]?.[g.syscall];
    return {
      severity: 'critical',
      title: `${g.syscall}(2) fails with ${g.errno} (${plural(g.count, 'time')})`,
      detail: [...lines, ...(hint ? ['', hint] : [])].join('\n'),
      evidence: [...new Set(g.rows.map((r) => `${input.stepId}/${r.node}/result.json`))],
    };
  });
  const top = groups[0]!;
  const topRow = [...top.rows].sort((a, b) => b.count - a.count)[0]!;
  const others = groups.slice(1, 3).map((g) => `${g.syscall}(2) ×${formatCount(g.count)}`);
  const headline =
    `${top.syscall}(2) failed with ${top.errno} ${plural(top.count, 'time')} in ${input.durationText}, ` +
    `most in ${where(topRow)}` +
    (others.length ? `; also ${others.join(', ')}` : '');
  return { headline, findings: [...findings, ...problems] };
}
