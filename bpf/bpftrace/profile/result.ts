/** profile's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';
import { TopFunction } from '../../../src/flamegraph/folded.ts';

/** One process the profile sampled: who burns the CPU the ranked functions run on. */
export const ProfileProcess = z.object({ pid: z.number().int(), comm: z.string(), samples: z.number().int() });
export type ProfileProcess = z.infer<typeof ProfileProcess>;

/** Runtimes that compile code at run time and can write a perf map naming it. */
export const JitRuntime = z.enum(['node', 'java', 'python', 'dotnet']);
export type JitRuntime = z.infer<typeof JitRuntime>;

/**
 * The process's perf map (/tmp/perf-<pid>.map in its own mount and pid namespaces), as found at the end of the
 * capture: `read`; `missing` (a JIT runtime runs without one); `unusable` (one exists but was not read, see
 * perfMapProblem); `none` (no JIT runtime, no map: nothing to read); `unknown` (the process was gone or not
 * readable when the capture ended, or the result was parsed away from the node).
 */
export const PerfMapState = z.enum(['read', 'missing', 'unusable', 'none', 'unknown']);
export type PerfMapState = z.infer<typeof PerfMapState>;

/** What the agent found of a sampled process when the capture ended: its binary, its runtime, its perf map. */
export const ProcessFacts = z.object({
  /** The executable, as the process's own mount namespace names it (/proc/<pid>/exe). */
  exe: z.string().nullable(),
  runtime: JitRuntime.nullable(),
  /** "3.11" for python; null when the binary does not say. */
  runtimeVersion: z.string().nullable(),
  perfMap: PerfMapState,
  perfMapProblem: z.string().optional(),
  /** Lines (code ranges) read from the perf map. */
  perfMapEntries: z.number().int().default(0),
  /** Distinct sampled addresses named from the perf map: JIT frames that would otherwise be [unknown]. */
  perfMapFrames: z.number().int().default(0),
});
export type ProcessFacts = z.infer<typeof ProcessFacts>;

/** How one process's stacks came out: whether its frames could be named and its stacks walked to their root. */
export const ProcessSymbols = ProcessFacts.extend({
  pid: z.number().int(),
  comm: z.string(),
  samples: z.number().int(),
  /** Samples of this process with an [unknown] frame. */
  unknownSamples: z.number().int(),
  /** Samples of this process whose user stack stops before a thread's root (see truncatedSamples). */
  truncatedSamples: z.number().int(),
});
export type ProcessSymbols = z.infer<typeof ProcessSymbols>;

export const ProfileResult = z.object({
  samples: z.number().int(),
  hz: z.number().int(),
  /** Samples with at least one frame that could not be named ("[unknown]": stripped binaries, JIT code, exited processes). */
  unknownSamples: z.number().int().default(0),
  /**
   * Samples whose user stack ends abruptly: its outermost frame is not where a thread starts (_start,
   * __libc_start_main, start_thread, clone3, ...), the mark of code built without frame pointers. Counted apart from
   * unknownSamples: a stack can be fully named and still cut short, or reach its root through unnamed frames.
   */
  truncatedSamples: z.number().int().optional(),
  topFunctions: z.array(TopFunction),
  /** The processes with the most samples, most first (at most 10); absent from results recorded before it existed. */
  processes: z.array(ProfileProcess).default([]),
  /**
   * The same processes (those with user stacks): runtime, perf map and truncation, so findings need not guess.
   * Both this and truncatedSamples are absent from results recorded before they existed.
   */
  symbolization: z.array(ProcessSymbols).optional(),
  artifacts: z.array(z.string()),
});
export type ProfileResult = z.infer<typeof ProfileResult>;
