import type { z } from 'zod';
import type { Investigation, Step, Summary } from '../investigation.ts';

/** One step of a playbook: a tool run on each of the target's nodes for a time box. */
export interface PlaybookStep<P> {
  id: string;
  tool: string;
  title: string;
  durationMs(params: P): number;
  toolParams(params: P): Record<string, unknown>;
}

export interface SummaryInput<P> {
  investigation: Investigation;
  params: P;
  /** One entry per (step, node), as recorded. */
  steps: Step[];
}

/**
 * A playbook defined in code. Issue #3 moves these into YAML files interpreted by an engine; the shape here
 * (params schema, steps, summarize) is what that engine will produce.
 */
export interface Playbook<S extends z.ZodType = z.ZodType> {
  name: string;
  title: string;
  description: string;
  /** Free-text symptoms that select this playbook when the request names none. */
  symptoms: RegExp[];
  params: S;
  steps: PlaybookStep<z.output<S>>[];
  summarize(input: SummaryInput<z.output<S>>): Summary;
}

export function definePlaybook<S extends z.ZodType>(p: Playbook<S>): Playbook {
  return p as unknown as Playbook;
}
