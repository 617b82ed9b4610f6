import { z } from 'zod';
import { positionalInt } from '../../bpftrace-output.ts';
import { AGENT_NAMES_USER_FRAMES, STACK_KEYED_LIMITS } from '../../stack-keys.ts';
import { defineBpftraceTool } from '../define.ts';
import { parseOffCpu } from './parser.ts';
import { OffCpuResult } from './result.ts';

export const OffCpuParams = z
  .object({
    /**
     * Blocks shorter than this (µs) are left out of the stacks, not out of the per-process totals: the brief waits
     * of a busy thread (a futex handed over at once, a pipe that is never empty for long) would bury the waits that
     * make a request slow. 1 ms by default; 0 keeps every block.
     */
    minBlockUs: z.number().int().min(0).max(10_000_000).default(1000),
  })
  .strict();
export type OffCpuParams = z.output<typeof OffCpuParams>;

export const offcputime = defineBpftraceTool({
  name: 'offcputime',
  description: 'Time the target spends blocked off CPU, by kernel and user stack (µs), from sched_switch to sched_wakeup; folded stacks for an off-CPU flame graph.',
  params: OffCpuParams,
  requires: [
    { kind: 'tracepoint', name: 'sched/sched_switch' },
    { kind: 'tracepoint', name: 'sched/sched_wakeup' },
  ],
  // sched_switch fires on every context switch of the node: short captures, with keys as large as profile's.
  limits: STACK_KEYED_LIMITS,
  env: {
    ...AGENT_NAMES_USER_FRAMES,
    // Every map (the threads parked asleep, the stacks, the sums) holds at most this many keys, and the two stack
    // maps as many stacks: ~8 MiB each of locked memory. A thread or stack beyond it is not counted.
    BPFTRACE_MAP_KEYS_MAX: '8192',
  },
  manifestUrl: import.meta.url,
  leadingArgs: (params) => [positionalInt('minBlockUs', params.minBlockUs)],
  parse: (stdout, params, ctx) => parseOffCpu(stdout, params.minBlockUs, ctx.userSymbol),
  result: OffCpuResult,
});
