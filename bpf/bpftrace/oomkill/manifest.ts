import { z } from 'zod';
import { positionalInt } from '../../bpftrace-output.ts';
import { defineBpftraceTool } from '../define.ts';
import { parseOomkill } from './parser.ts';
import { OomkillResult } from './result.ts';

export const OomkillParams = z
  .object({
    /**
     * End this long after the first kill counted instead of at the end of the window (which stays the upper bound):
     * kills come in bursts, and a person waiting for the first needs no more of the window. 0 or absent: watch it all.
     */
    endAfterMs: z.number().int().min(0).max(120_000).optional(),
  })
  .strict();
export type OomkillParams = z.output<typeof OomkillParams>;

export const oomkill = defineBpftraceTool({
  name: 'oomkill',
  description: 'Lists OOM kills during the capture: victim, its memory at the kill, and the task that triggered the OOM.',
  params: OomkillParams,
  requires: [{ kind: 'tracepoint', name: 'oom/mark_victim' }],
  // One entry per kill: the output stays small however long the capture.
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 1024 * 1024, stopGraceMs: 2_000 },
  manifestUrl: import.meta.url,
  trailingArgs: (params) => [positionalInt('endAfterMs', params.endAfterMs ?? 0)],
  parse: (stdout, params, ctx) => ({ result: parseOomkill(stdout, ctx, params.endAfterMs ?? 0) }),
  result: OomkillResult,
});
