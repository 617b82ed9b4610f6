/** execsnoop's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';

const ErrnoCount = z.object({ errno: z.string(), count: z.number().int() });

/** A program that was executed (or that exec failed to run), over all callers. */
export const ExecFilename = z.object({
  /** As passed to execve, so relative names and PATH lookups that failed (ENOENT) appear as tried. */
  filename: z.string(),
  count: z.number().int(),
  failed: z.number().int(),
  failures: z.array(ErrnoCount),
});
export type ExecFilename = z.infer<typeof ExecFilename>;

/** A process whose children (or which itself) called exec, with the cgroup of the callers. */
export const ExecParent = z.object({
  ppid: z.number().int(),
  /** The parent's comm at the time of the execs (the most frequent one if it changed); null if unknown. */
  comm: z.string().nullable(),
  cgroupId: z.number().int(),
  cgroup: z.string().nullable(),
  count: z.number().int(),
  failed: z.number().int(),
});
export type ExecParent = z.infer<typeof ExecParent>;

export const ExecsnoopResult = z.object({
  /** exec attempts (execve and execveat), failures included. */
  execs: z.number().int(),
  failed: z.number().int(),
  /** How long the probes ran, measured by the program itself; null if it did not say. */
  durationMs: z.number().int().nullable(),
  /** execs per second over durationMs, one decimal; null without a duration. */
  execsPerSecond: z.number().nullable(),
  filenames: z.array(ExecFilename),
  distinctFilenames: z.number().int(),
  parents: z.array(ExecParent),
  distinctParents: z.number().int(),
});
export type ExecsnoopResult = z.infer<typeof ExecsnoopResult>;
