import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { cgroupArgs, positionalInt } from '../../bpftrace-output.ts';
import type { BpftraceTool, KernelScope } from '../../tool.ts';
import { parseOomkill } from './parser.ts';
import { OomkillResult } from './result.ts';

export const OomkillParams = z.object({}).strict();
export type OomkillParams = z.output<typeof OomkillParams>;

export const oomkill: BpftraceTool<typeof OomkillParams, OomkillResult> = {
  kind: 'bpftrace',
  name: 'oomkill',
  description: 'Lists OOM kills during the capture: victim, its memory at the kill, and the task that triggered the OOM.',
  params: OomkillParams,
  requires: [{ kind: 'bpftrace' }, { kind: 'tracepoint', name: 'oom/mark_victim' }],
  // One entry per kill: the output stays small however long the capture.
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 1024 * 1024, stopGraceMs: 2_000 },
  env: {},
  programFile: fileURLToPath(new URL('./program.bt', import.meta.url)),
  args(_params: OomkillParams, scope: KernelScope): string[] {
    const cgroups = cgroupArgs(scope);
    return [cgroups.first, positionalInt('pid', scope.pid), ...cgroups.extra];
  },
  parse(stdout, _params, ctx) {
    return { result: parseOomkill(stdout, ctx), extraArtifacts: [] };
  },
  result: OomkillResult,
};
