import { z } from 'zod';
import { positionalInt } from '../../bpftrace-output.ts';
import { defineBpftraceTool } from '../define.ts';
import { parseProfile } from './parser.ts';
import { ProfileResult } from './result.ts';

export const ProfileParams = z
  .object({
    /** Samples per second per CPU. 99 rather than 100 avoids sampling in lockstep with timer-driven work. */
    hz: z.number().int().min(1).max(999).default(99),
  })
  .strict();
export type ProfileParams = z.output<typeof ProfileParams>;

export const profile = defineBpftraceTool({
  name: 'profile',
  description: 'Samples on-CPU kernel and user stacks at a fixed rate; produces folded stacks for a flame graph.',
  params: ProfileParams,
  requires: [{ kind: 'perf-events' }],
  // Stack keys are large (two stacks of up to 127 frames each), hence the larger output cap than syscount.
  // Printing resolves user symbols per sampled process; for big binaries (node: ~100 MB of ELF) that alone took
  // 4.7 s here after a 4 s capture, so the stop grace is generous.
  limits: {
    minDurationMs: 1_000,
    maxDurationMs: 60_000,
    defaultDurationMs: 10_000,
    maxOutputBytes: 32 * 1024 * 1024,
    stopGraceMs: 15_000,
  },
  // bpftrace 0.17 rebuilds a symbol table per stack without its cache, and its cache is keyed by executable,
  // which is wrong under ASLR: the agent symbolizes user addresses itself (ParseContext.userSymbol).
  env: { BPFTRACE_NO_USER_SYMBOLS: '1' },
  manifestUrl: import.meta.url,
  leadingArgs: (params) => [positionalInt('hz', params.hz)],
  parse: (stdout, params, ctx) => parseProfile(stdout, params.hz, ctx.userSymbol, ctx.userProcess, ctx.userModule),
  result: ProfileResult,
});
