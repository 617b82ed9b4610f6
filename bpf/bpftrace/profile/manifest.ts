import { z } from 'zod';
import { positionalInt } from '../../bpftrace-output.ts';
import { AGENT_NAMES_USER_FRAMES, STACK_KEYED_LIMITS } from '../../stack-keys.ts';
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
  limits: STACK_KEYED_LIMITS,
  env: AGENT_NAMES_USER_FRAMES,
  manifestUrl: import.meta.url,
  leadingArgs: (params) => [positionalInt('hz', params.hz)],
  parse: (stdout, params, ctx) => parseProfile(stdout, params.hz, ctx.userSymbol, ctx.userProcess, ctx.userModule),
  result: ProfileResult,
});
