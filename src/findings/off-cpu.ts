/**
 * The latency playbook's findings: where the target's time went over one window, on CPU (profile's samples) or
 * blocked off CPU (offcputime), which dominates and by how much, and the stacks it blocked in. "Slow but not busy"
 * is answered by the blocking stacks; "slow and busy" by the on-CPU profile, whose findings come from cpu-profile.ts.
 */
import { OffCpuResult, type OffCpuOpenBlock, type OffCpuStack } from '../../bpf/bpftrace/offcputime/result.ts';
import { ProfileResult } from '../../bpf/bpftrace/profile/result.ts';
import { OFFCPU_FLAMEGRAPH_ARTIFACT, OFFCPU_FOLDED_ARTIFACT } from '../flamegraph/artifacts.ts';
import { formatMicros } from '../flamegraph/units.ts';
import { formatCount, formatShare, plural } from '../core/format.ts';
import type { Confidence, Finding, Step } from '../core/investigation.ts';
import { fieldEvidence, rowEvidence, wholeArtifacts } from './evidence.ts';
import { succeededSteps, type Draft } from './step-problems.ts';

/** One side dominates when it holds at least this many times the other's time. */
export const DOMINANCE_RATIO = 2;
const TOP_STACKS = 5;
/** An open block this long is a thread that may hang, worth a finding of its own. */
const LONG_OPEN_US = 1_000_000;
/** Below this much measured time (on and off CPU together) the comparison is a glimpse. */
const FEW_US = 100_000;

export type Dominant = 'off-cpu' | 'on-cpu' | 'neither';

/** Which side dominates: the one with DOMINANCE_RATIO times the other's time; neither when they are close. */
export function dominantSide(onCpuUs: number, offCpuUs: number): Dominant {
  if (offCpuUs > 0 && offCpuUs >= DOMINANCE_RATIO * onCpuUs) return 'off-cpu';
  if (onCpuUs > 0 && onCpuUs >= DOMINANCE_RATIO * offCpuUs) return 'on-cpu';
  return 'neither';
}

/** On-CPU time (each profile's samples over its rate) and time blocked (offcputime), in µs, summed over results. */
export function cpuTimes(on: readonly ProfileResult[], off: readonly OffCpuResult[]): { onCpuUs: number; offCpuUs: number } {
  return {
    onCpuUs: on.reduce((n, r) => n + (r.hz > 0 ? Math.round((r.samples / r.hz) * 1_000_000) : 0), 0),
    offCpuUs: off.reduce((n, r) => n + r.blockedUs, 0),
  };
}

/** "nanosleep in do_nanosleep ← doze_between_requests ← main": the system call, what it waited on, who called. */
export function stackText(s: Pick<OffCpuStack, 'syscall' | 'blockedIn' | 'userFrames'>): string {
  const kernel = s.syscall && s.blockedIn && s.blockedIn !== s.syscall ? `${s.syscall}(2) in ${s.blockedIn}` : s.syscall ? `${s.syscall}(2)` : s.blockedIn ?? 'an unnamed kernel wait';
  return [kernel, ...s.userFrames].join(' ← ');
}

const who = (s: { comm: string; pid: number }) => `${s.comm} (pid ${s.pid})`;

function stackLine(s: OffCpuStack, i: number): string {
  const open = s.open > 0 ? `, ${formatCount(s.open)} still blocked at the end` : '';
  return `${i + 1}. ${who(s)}: ${stackText(s)} — ${formatMicros(s.totalUs)} in all, longest ${formatMicros(s.maxUs)}, ${plural(s.count, 'wait')}${open}`;
}

interface Figures {
  onCpuUs: number;
  offCpuUs: number;
  samples: number;
  hz: number;
  blocks: number;
  windowMs: number;
  haveOn: boolean;
  haveOff: boolean;
}

function comparisonConfidence(f: Figures): Confidence {
  if (!f.haveOn || !f.haveOff) {
    return { level: 'low', reason: `only ${f.haveOn ? 'the on-CPU profile' : 'the off-CPU capture'} completed: the other side was not measured` };
  }
  const measured = f.onCpuUs + f.offCpuUs;
  if (measured < FEW_US) return { level: 'low', reason: `a glimpse: ${formatMicros(measured)} of the target's time measured in all` };
  if (f.samples >= 100 || f.blocks >= 100) {
    return {
      level: 'high',
      reason: `both sides measured over the same window: every block timed at the scheduler (${plural(f.blocks, 'block')}), on-CPU time from ${plural(f.samples, 'sample')} at ${f.hz} Hz`,
    };
  }
  return { level: 'medium', reason: `few events: ${plural(f.blocks, 'block')} and ${plural(f.samples, 'sample')} at ${f.hz} Hz` };
}

function openBlockFinding(o: OffCpuOpenBlock, steps: readonly Step[], stepId: string): Finding {
  return {
    severity: 'warning',
    title: `${who(o)} was still blocked when the capture ended, after ${formatMicros(o.blockedUs)}: ${stackText(o)}`,
    detail:
      `Thread ${o.tid} went off CPU during the capture and had not woken ${formatMicros(o.blockedUs)} later. ` +
      'A request that waits here does not complete: look at what should wake it (the other end of the pipe or socket, the lock holder, the device).',
    confidence: { level: 'high', reason: 'the scheduler switched the thread out and never woke it before the capture ended' },
    evidence: rowEvidence(steps, stepId, ['openBlocks'], (row) => (row as OffCpuOpenBlock).tid === o.tid),
    next: {
      commands: [`cat /proc/${o.pid}/task/${o.tid}/stack`, `cat /proc/${o.pid}/task/${o.tid}/wchan; echo`, `ls -l /proc/${o.pid}/fd`],
      remedy: 'A thread blocked for good is waiting for something that will not come: find its peer (a lock holder, a writer, a remote service) and fix that side, or bound the wait with a timeout.',
    },
  };
}

/**
 * On-CPU against off-CPU time of the target over one window, and where it blocked. `offStepId` is the offcputime
 * step, `onStepId` the profile step; either may have failed or not run, which the confidence says.
 */
export function summarizeLatency(input: { steps: Step[]; offStepId: string; onStepId: string; durationText: string }): Draft {
  const { steps, offStepId, onStepId } = input;
  const off = succeededSteps(steps, offStepId).map((s) => OffCpuResult.parse(s.result));
  const on = succeededSteps(steps, onStepId).map((s) => ProfileResult.parse(s.result));
  if (off.length === 0 && on.length === 0) return { headline: 'No latency capture completed: neither on-CPU nor off-CPU time was measured', findings: [] };

  const samples = on.reduce((n, r) => n + r.samples, 0);
  const hz = on[0]?.hz ?? 0;
  const f: Figures = {
    ...cpuTimes(on, off),
    samples,
    hz,
    blocks: off.reduce((n, r) => n + r.blocks, 0),
    windowMs: Math.max(0, ...off.map((r) => r.windowMs)),
    haveOn: on.length > 0,
    haveOff: off.length > 0,
  };
  const window = f.windowMs > 0 ? formatMicros(Math.round(f.windowMs * 1000)) : input.durationText;
  const side = f.haveOn && f.haveOff ? dominantSide(f.onCpuUs, f.offCpuUs) : 'neither';
  const total = f.onCpuUs + f.offCpuUs;
  const offShare = total > 0 ? formatShare(f.offCpuUs / total) : '0%';
  const top = off
    .flatMap((r) => r.topStacks)
    .sort((a, b) => b.totalUs - a.totalUs)
    .slice(0, TOP_STACKS);
  const worst = top[0];
  const hottest = on.flatMap((r) => r.topFunctions).sort((a, b) => b.self - a.self)[0];
  const figures =
    `On CPU ${formatMicros(f.onCpuUs)} (${plural(samples, 'sample')} at ${hz} Hz); ` +
    `blocked off CPU ${formatMicros(f.offCpuUs)} (${plural(f.blocks, 'block')}, summed over threads); ` +
    `${offShare} of the measured time off CPU, over a ${window} window.`;

  const verdict: Finding = {
    severity: side === 'off-cpu' ? 'warning' : 'info',
    title:
      side === 'off-cpu'
        ? `Off-CPU time dominates: blocked ${formatMicros(f.offCpuUs)} against ${formatMicros(f.onCpuUs)} on CPU`
        : side === 'on-cpu'
          ? `On-CPU time dominates: ${formatMicros(f.onCpuUs)} on CPU against ${formatMicros(f.offCpuUs)} blocked`
          : !f.haveOn || !f.haveOff
            ? `Only ${f.haveOn ? 'on' : 'off'}-CPU time measured: ${formatMicros(f.haveOn ? f.onCpuUs : f.offCpuUs)}`
            : `Neither dominates: ${formatMicros(f.onCpuUs)} on CPU, ${formatMicros(f.offCpuUs)} blocked`,
    detail:
      `${figures} ` +
      (side === 'off-cpu'
        ? `The target is slow but not busy: it waits. ${worst ? `Most of it in ${stackText(worst)} (${who(worst)}).` : ''} Idle threads (a pool waiting for work) count too: read the stacks, not only the sum.`
        : side === 'on-cpu'
          ? `The target is busy: its time goes to computing${hottest ? `, most in ${hottest.name} (${formatShare(hottest.self)} of samples)` : ''}. The on-CPU flame graph shows where.`
          : `Blocks shorter than the minimum block are in the sum but not in the stacks.`),
    confidence: comparisonConfidence(f),
    evidence: [
      ...fieldEvidence(steps, offStepId, [['blockedUs'], ['blocks'], ['windowMs'], ['totalUs']]),
      ...fieldEvidence(steps, onStepId, [['samples'], ['hz']]),
    ],
  };

  const stacksFinding: Finding[] =
    top.length > 0
      ? [
          {
            severity: 'info',
            title: `Top ${top.length} blocking stack${top.length === 1 ? '' : 's'} by time off CPU`,
            detail: top.map(stackLine).join('\n'),
            confidence:
              f.blocks >= 100
                ? { level: 'high', reason: `every block of at least ${formatMicros(off[0]!.minBlockUs)} timed from switch-out to wakeup: ${plural(f.blocks, 'block')}` }
                : { level: 'medium', reason: `timed at the scheduler, but only ${plural(f.blocks, 'block')}` },
            evidence: [
              ...rowEvidence(steps, offStepId, ['topStacks'], (_row, i) => i < TOP_STACKS),
              ...wholeArtifacts(steps, offStepId, OFFCPU_FLAMEGRAPH_ARTIFACT),
              ...wholeArtifacts(steps, offStepId, OFFCPU_FOLDED_ARTIFACT),
            ],
          },
        ]
      : [];
  const open = off
    .flatMap((r) => r.openBlocks)
    .filter((o) => o.blockedUs >= LONG_OPEN_US)
    .slice(0, 3)
    .map((o) => openBlockFinding(o, steps, offStepId));

  const headline =
    side === 'off-cpu'
      ? `Off-CPU dominates: blocked ${formatMicros(f.offCpuUs)} vs ${formatMicros(f.onCpuUs)} on CPU in ${window}${worst ? `, most in ${stackText(worst)} (${who(worst)}, ${formatMicros(worst.totalUs)}, longest ${formatMicros(worst.maxUs)})` : ''}`
      : side === 'on-cpu'
        ? `On-CPU dominates: ${formatMicros(f.onCpuUs)} on CPU vs ${formatMicros(f.offCpuUs)} blocked in ${window}${hottest ? `, hottest function ${hottest.name} (${formatShare(hottest.self)} of samples)` : ''}`
        : !f.haveOn || !f.haveOff
          ? f.haveOff
            ? `Only off-CPU time measured (no on-CPU profile): blocked ${formatMicros(f.offCpuUs)} in ${window}${worst ? `, most in ${stackText(worst)} (${who(worst)})` : ''}`
            : `Only on-CPU time measured (no off-CPU capture): ${formatMicros(f.onCpuUs)} on CPU in ${window}${hottest ? `, hottest function ${hottest.name}` : ''}`
        : total === 0
          ? `The target neither ran nor blocked in ${window}: check the target, or capture while it is slow`
          : `${formatMicros(f.onCpuUs)} on CPU and ${formatMicros(f.offCpuUs)} blocked in ${window}${worst ? `; longest blocking: ${stackText(worst)}` : ''}`;
  return { headline, findings: [verdict, ...open, ...stacksFinding] };
}
