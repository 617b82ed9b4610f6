import { ProfileResult, type ProfileProcess } from '../../bpf/bpftrace/profile/result.ts';
import type { TopFunction } from '../flamegraph/folded.ts';
import { formatShare, plural } from '../core/format.ts';
import type { Step } from '../core/investigation.ts';
import type { Confidence } from '../core/investigation.ts';
import { fieldEvidence, rowEvidence, wholeArtifacts } from './evidence.ts';
import { symbolFindings } from './profile-symbols.ts';
import { succeededSteps, type Draft } from './step-problems.ts';

/** Below this many samples a profile is a glimpse: at 99 Hz, about five seconds of one busy CPU. */
const FEW_SAMPLES = 500;
/** From this many samples, a function with this self share is measured, not glimpsed. */
const MANY_SAMPLES = 2000;
const DOMINANT_SHARE = 0.2;

/**
 * How far a profile's ranking can be trusted: a sampled share is a measurement, but a short profile with few samples
 * only hints at where the time goes, and a flat one names no single function.
 */
function rankingConfidence(samples: number, hottest: TopFunction | undefined): Confidence {
  const share = hottest ? formatShare(hottest.self) : '0%';
  if (samples < FEW_SAMPLES) return { level: 'low', reason: `a hint: only ${plural(samples, 'sample')} on CPU, too few to rank functions firmly` };
  if (samples >= MANY_SAMPLES && hottest && hottest.self >= DOMINANT_SHARE) {
    return { level: 'high', reason: `${plural(samples, 'sample')} with ${share} in one function: a measured share, not an inference` };
  }
  return { level: 'medium', reason: `${plural(samples, 'sample')}; the hottest function holds ${share} of them on CPU itself` };
}

/** At most this many pids are named after the command that burns the most. */
const NAMED_PIDS = 5;

/**
 * The command with the most samples over every node, with its pids: who runs the hot code, which a person needs before
 * the function name is of any use.
 */
export function busiestCommand(processes: readonly ProfileProcess[]): { comm: string; pids: number[]; samples: number } | null {
  const byComm = new Map<string, { comm: string; pids: number[]; samples: number }>();
  for (const p of processes) {
    const c = byComm.get(p.comm) ?? { comm: p.comm, pids: [], samples: 0 };
    c.pids.push(p.pid);
    c.samples += p.samples;
    byComm.set(p.comm, c);
  }
  return [...byComm.values()].sort((a, b) => b.samples - a.samples || a.comm.localeCompare(b.comm))[0] ?? null;
}

/** "th-burner (pids 41, 42: 65% of samples)" for the busiest command of a profile; null when it sampled no process. */
export function whoBurns(processes: readonly ProfileProcess[], samples: number): string | null {
  const busiest = busiestCommand(processes);
  return busiest && samples > 0 ? whoText(busiest, samples) : null;
}

function whoText(busiest: { comm: string; pids: number[]; samples: number }, samples: number): string {
  const pids = [...new Set(busiest.pids)].sort((a, b) => a - b);
  const shown = pids.slice(0, NAMED_PIDS).join(', ') + (pids.length > NAMED_PIDS ? ` and ${pids.length - NAMED_PIDS} more` : '');
  return `${busiest.comm} (pid${pids.length === 1 ? '' : 's'} ${shown}: ${formatShare(busiest.samples / samples)} of samples)`;
}

export function summarizeCpuProfile(input: { steps: Step[]; stepId: string; durationText: string; topN?: number }): Draft {
  const topN = input.topN ?? 10;
  const ok = succeededSteps(input.steps, input.stepId);
  if (ok.length === 0) {
    const reasons = input.steps.filter((s) => s.id === input.stepId).map((s) => s.reason).filter(Boolean).join('; ');
    return { headline: `No CPU profile completed${reasons ? `: ${reasons}` : ''}`, findings: [] };
  }
  const perNode = ok.map((s) => ({ node: s.node ?? '?', step: s, result: ProfileResult.parse(s.result) }));
  const samples = perNode.reduce((n, p) => n + p.result.samples, 0);
  if (samples === 0) {
    return {
      headline: `No on-CPU samples from the target in ${input.durationText}: it was idle or not running`,
      findings: [
        {
          severity: 'info',
          title: `Ruled out: the target was not on CPU in ${input.durationText}`,
          detail: 'The profiler sampled no stack of the target while it ran (0 samples). Check the cgroup or pid, or profile while the problem happens.',
          confidence: { level: 'high', reason: 'the profiler sampled every CPU for the whole capture and none ran the target' },
          evidence: fieldEvidence(input.steps, input.stepId, [['samples'], ['hz']]),
        },
      ],
    };
  }
  // Shares are per node; weigh them by each node's samples to merge.
  const merged = new Map<string, TopFunction>();
  for (const p of perNode) {
    for (const f of p.result.topFunctions) {
      const m = merged.get(f.name) ?? { name: f.name, self: 0, total: 0 };
      m.self += (f.self * p.result.samples) / samples;
      m.total += (f.total * p.result.samples) / samples;
      merged.set(f.name, m);
    }
  }
  const top = [...merged.values()].sort((a, b) => b.self - a.self || b.total - a.total || a.name.localeCompare(b.name)).slice(0, topN);
  const nodes = perNode.map((p) => p.node).join(', ');
  const hottest = top[0];
  const busiest = busiestCommand(perNode.flatMap((p) => p.result.processes));
  const who = busiest ? `, mostly in ${whoText(busiest, samples)}` : '';
  const headline = hottest
    ? `Hottest function on ${nodes}: ${hottest.name} — ${formatShare(hottest.self)} of ${plural(samples, 'sample')} on CPU itself (${formatShare(hottest.total)} with callees)${who}`
    : `${plural(samples, 'sample')} on ${nodes}, no function stands out${who}`;
  return {
    headline,
    findings: [
      {
        severity: 'info',
        title: `Top ${top.length} functions by on-CPU samples`,
        detail: top.map((f, i) => `${i + 1}. ${f.name} — self ${formatShare(f.self)}, total ${formatShare(f.total)}`).join('\n'),
        confidence: rankingConfidence(samples, hottest),
        evidence: [
          ...rowEvidence(input.steps, input.stepId, ['topFunctions'], (f) => top.some((t) => t.name === (f as TopFunction).name)),
          ...(busiest ? rowEvidence(input.steps, input.stepId, ['processes'], (p) => (p as ProfileProcess).comm === busiest.comm) : []),
          ...wholeArtifacts(input.steps, input.stepId, 'stacks.folded'),
        ],
      },
      ...symbolFindings(input.steps, input.stepId, perNode, samples),
    ],
  };
}
