/** profile's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';
import { TopFunction } from '../../../src/flamegraph/folded.ts';

/** One process the profile sampled: who burns the CPU the ranked functions run on. */
export const ProfileProcess = z.object({ pid: z.number().int(), comm: z.string(), samples: z.number().int() });
export type ProfileProcess = z.infer<typeof ProfileProcess>;

export const ProfileResult = z.object({
  samples: z.number().int(),
  hz: z.number().int(),
  /** Samples with at least one frame that could not be named ("[unknown]": stripped binaries, JIT code, exited processes). */
  unknownSamples: z.number().int().default(0),
  topFunctions: z.array(TopFunction),
  /** The processes with the most samples, most first (at most 10); absent from results recorded before it existed. */
  processes: z.array(ProfileProcess).default([]),
  artifacts: z.array(z.string()),
});
export type ProfileResult = z.infer<typeof ProfileResult>;
