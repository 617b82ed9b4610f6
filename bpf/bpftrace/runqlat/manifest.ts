import { z } from 'zod';
import { defineBpftraceTool } from '../define.ts';
import { parseRunqlat } from './parser.ts';
import { RunqlatResult } from './result.ts';

/** The target (cgroup, pid) comes from the capture's scope; the tool itself has nothing to tune. */
export const RunqlatParams = z.object({}).strict();
export type RunqlatParams = z.output<typeof RunqlatParams>;

export const runqlat = defineBpftraceTool({
  name: 'runqlat',
  description: 'Histograms of scheduler run-queue latency (runnable → running) per cgroup, in microseconds.',
  params: RunqlatParams,
  requires: [
    { kind: 'tracepoint', name: 'sched/sched_wakeup' },
    { kind: 'tracepoint', name: 'sched/sched_wakeup_new' },
    { kind: 'tracepoint', name: 'sched/sched_switch' },
  ],
  // One histogram per cgroup (at most ~35 buckets of ~45 bytes): thousands of cgroups stay far below the cap.
  // sched_switch fires on every context switch, hence the short maximum duration.
  limits: { minDurationMs: 1_000, maxDurationMs: 60_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 },
  manifestUrl: import.meta.url,
  parse: (stdout, _params, ctx) => ({ result: parseRunqlat(stdout, ctx) }),
  result: RunqlatResult,
});
