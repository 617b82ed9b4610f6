import { formatDurationMs } from '../core/duration.ts';
import { summarizeCpuProfile } from '../findings/cpu-profile.ts';
import { summarizeCpuThrottling } from '../findings/cpu-throttling.ts';
import { summarizeLatency } from '../findings/off-cpu.ts';
import { summarizeSyscallErrors } from '../findings/syscall-errors.ts';
import type { Draft } from '../findings/step-problems.ts';
import { summarizeTriage } from '../findings/triage.ts';
import type { Investigation, Step } from '../core/investigation.ts';
import type { Target } from '../core/target.ts';

export interface SummarizerInput {
  steps: Step[];
  stepId: string;
  params: Record<string, unknown>;
  args: Record<string, string>;
  target?: Target;
  /** The node's earlier health sweeps (for triage's baseline). */
  sweeps: readonly Investigation[];
}

const durationText = (params: Record<string, unknown>) => (typeof params.duration === 'number' ? formatDurationMs(params.duration) : 'the');

/** Findings written once in code that playbooks call by name (`use:`), for results too rich for one-line rules. */
export const SUMMARIZERS: Record<'syscall-errors' | 'cpu-profile' | 'triage' | 'cpu-throttling' | 'latency', (input: SummarizerInput) => Draft> = {
  'syscall-errors': ({ steps, stepId, params, args }) =>
    summarizeSyscallErrors({ steps, stepId, errno: args.errno ?? null, durationText: durationText(params) }),
  'cpu-profile': ({ steps, stepId, params }) => summarizeCpuProfile({ steps, stepId, durationText: durationText(params) }),
  // Reads the throttling step and any runqlat step beside it (quota or contention).
  'cpu-throttling': ({ steps, stepId, params }) => summarizeCpuThrottling({ steps, stepId, durationText: durationText(params) }),
  // `step` is the off-CPU capture; `with: { onCpuStep }` names the profile step run beside it (default "cpu").
  latency: ({ steps, stepId, params, args }) =>
    summarizeLatency({ steps, offStepId: stepId, onStepId: args.onCpuStep ?? 'cpu', durationText: durationText(params) }),
  // Every step of the playbook is a signal (found by tool), so `step` only anchors the rule.
  triage: ({ steps, params, target, sweeps }) =>
    summarizeTriage({ steps, durationMs: typeof params.duration === 'number' ? params.duration : 0, ...(target ? { target } : {}), sweeps }),
};
