import { z } from 'zod';
import { defineBpftraceTool } from '../define.ts';
import { parseOomkill } from './parser.ts';
import { OomkillResult } from './result.ts';

export const OomkillParams = z.object({}).strict();
export type OomkillParams = z.output<typeof OomkillParams>;

export const oomkill = defineBpftraceTool({
  name: 'oomkill',
  description: 'Lists OOM kills during the capture: victim, its memory at the kill, and the task that triggered the OOM.',
  params: OomkillParams,
  requires: [{ kind: 'tracepoint', name: 'oom/mark_victim' }],
  // One entry per kill: the output stays small however long the capture.
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 1024 * 1024, stopGraceMs: 2_000 },
  manifestUrl: import.meta.url,
  parse: (stdout, _params, ctx) => ({ result: parseOomkill(stdout, ctx) }),
  result: OomkillResult,
});
