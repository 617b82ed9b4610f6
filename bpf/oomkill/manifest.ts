import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { cgroupArgs, positionalInt } from '../bpftrace-output.ts';
import type { BpftraceTool, KernelScope } from '../tool.ts';
import { parseOomkill } from './parser.ts';

export const OomkillParams = z.object({}).strict();
export type OomkillParams = z.output<typeof OomkillParams>;

/** The task that ran into the OOM and whose allocation made the kernel pick a victim (not necessarily the victim). */
export const OomTrigger = z.object({
  pid: z.number().int(),
  tid: z.number().int(),
  comm: z.string(),
  cgroupId: z.number().int(),
  cgroup: z.string().nullable(),
});
export type OomTrigger = z.infer<typeof OomTrigger>;

/** One OOM kill, as the kernel reported it when it marked the victim. Memory figures in KiB. */
export const OomKill = z.object({
  /** Milliseconds from the start of the capture's probes. */
  atMs: z.number().int(),
  pid: z.number().int(),
  comm: z.string(),
  uid: z.number().int(),
  totalVmKb: z.number().int(),
  anonRssKb: z.number().int(),
  fileRssKb: z.number().int(),
  shmemRssKb: z.number().int(),
  pgtablesKb: z.number().int(),
  oomScoreAdj: z.number().int(),
  /** null if the trigger's map entry is missing (bpftrace dropped it: map full). */
  trigger: OomTrigger.nullable(),
});
export type OomKill = z.infer<typeof OomKill>;

export const OomkillResult = z.object({
  /** In the order they happened. */
  kills: z.array(OomKill),
  total: z.number().int(),
});
export type OomkillResult = z.infer<typeof OomkillResult>;

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
