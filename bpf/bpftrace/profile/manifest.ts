import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ProfileResult } from '../../../src/core/tool-results.ts';
import { cgroupArgs, positionalInt } from '../../bpftrace-output.ts';
import type { BpftraceTool, KernelScope } from '../../tool.ts';
import { parseProfile } from './parser.ts';

export const ProfileParams = z
  .object({
    /** Samples per second per CPU. 99 rather than 100 avoids sampling in lockstep with timer-driven work. */
    hz: z.number().int().min(1).max(999).default(99),
  })
  .strict();
export type ProfileParams = z.output<typeof ProfileParams>;

export const profile: BpftraceTool<typeof ProfileParams, ProfileResult> = {
  kind: 'bpftrace',
  name: 'profile',
  description: 'Samples on-CPU kernel and user stacks at a fixed rate; produces folded stacks for a flame graph.',
  params: ProfileParams,
  requires: [{ kind: 'bpftrace' }, { kind: 'perf-events' }],
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
  programFile: fileURLToPath(new URL('./program.bt', import.meta.url)),
  args(params: ProfileParams, scope: KernelScope): string[] {
    const cgroups = cgroupArgs(scope);
    return [positionalInt('hz', params.hz), cgroups.first, positionalInt('pid', scope.pid), ...cgroups.extra];
  },
  parse(stdout, params, ctx) {
    return parseProfile(stdout, params.hz, ctx.userSymbol);
  },
  result: ProfileResult,
};
