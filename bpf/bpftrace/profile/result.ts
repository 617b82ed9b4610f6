/** profile's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';
import { TopFunction } from '../../../src/flamegraph/folded.ts';

export const ProfileResult = z.object({
  samples: z.number().int(),
  hz: z.number().int(),
  /** Samples with at least one frame that could not be named ("[unknown]": stripped binaries, JIT code, exited processes). */
  unknownSamples: z.number().int().default(0),
  topFunctions: z.array(TopFunction),
  artifacts: z.array(z.string()),
});
export type ProfileResult = z.infer<typeof ProfileResult>;
