import type { z } from 'zod';
import type { Capabilities, Requirement } from '../core/capabilities.ts';
import type { Investigation, Step, StepStatus, Summary } from '../core/investigation.ts';
import type { Vocabulary } from './vocabulary.ts';

/** What CEL expressions see of a step (`steps.<id>`): its status and result, merged over the nodes it ran on. */
export interface StepForExpressions {
  status: StepStatus;
  reason?: string;
  /** The first succeeded node's result (single-node targets: the result). */
  result?: unknown;
  /** Which variant of its tool produced `result` (kprobe, tracepoint…). */
  variant?: string;
  results: { node: string | null; status: StepStatus; variant?: string; result?: unknown }[];
}

export interface PlanContext {
  params: Record<string, unknown>;
  target: Record<string, unknown>;
  steps: Record<string, StepForExpressions>;
}

export type StepDecision =
  | { action: 'skip'; reason: string }
  | {
      action: 'run';
      tool: string;
      title: string;
      durationMs: number;
      params: Record<string, unknown>;
      /** Set when the step's fallback runs because the node lacks what the step needs. */
      fallbackReason?: string;
    };

/** A playbook step compiled from its YAML (StepSpec, schema.ts): when it runs, what it runs where, its longest box. */
export interface CompiledStep {
  id: string;
  title: string;
  tool: string;
  /** Dispatched together with the step before it (schema.ts, a step's `parallel`). */
  parallel?: boolean;
  /** Null when the step should run; otherwise why not: not needed ("not needed: no mount(2) failed"), or a broken condition. */
  condition(ctx: PlanContext): { skip: 'not-needed' | 'unsupported'; reason: string } | null;
  /** What to run on one node, given its capabilities (null when the orchestrator does not know them). */
  plan(ctx: PlanContext, caps: Capabilities | null): StepDecision;
  /**
   * The longest time box this step can get on any node, its fallback's included; when the duration depends on
   * results not known yet, the tool's longest. What an investigation's deadline is built from.
   */
  timeBoxMs(ctx: PlanContext): number;
  /**
   * Why a succeeded capture's result does not count (the step's `expect` does not hold of it), or null when it does
   * (or the step expects nothing).
   */
  judge(result: unknown, ctx: PlanContext): string | null;
}

export interface SummaryInput {
  investigation: Investigation;
  params: Record<string, unknown>;
  /** One entry per (step, node), as recorded. */
  steps: Step[];
  /** Earlier health sweeps, for playbooks that compare with the node's usual (comparesWithSweeps). */
  sweeps?: readonly Investigation[];
}

/** A playbook ready to run: compiled from YAML (compile.ts), validated against the tool catalogue. */
export interface Playbook {
  name: string;
  title: string;
  description: string;
  /** What in a symptom's text points to this playbook (routing.ts scores it). */
  vocabulary: Vocabulary;
  /** May run without a target: then on every live node (sweeps). */
  fleetWide: boolean;
  params: z.ZodType<Record<string, unknown>>;
  steps: CompiledStep[];
  summarize(input: SummaryInput): Summary;
  /** Its steps are dispatched all at once and collected together (schema.ts, `parallel`). */
  parallel?: boolean;
  /** Its summary compares with the node's health sweeps (triage): the orchestrator passes them in `sweeps`. */
  comparesWithSweeps?: boolean;
  /** Where it was loaded from, for error messages and the API. */
  source: string;
}

/** What the playbook compiler needs to know of each tool; the adapter builds it from bpf/'s manifests. */
export interface ToolInfo {
  requires: Requirement[];
  /** Each variant's own requirements, best first: the tool runs where any one of them is met. */
  variants?: ReadonlyArray<{ name: string; requires: readonly Requirement[] }>;
  params: z.ZodType;
  limits: { minDurationMs: number; maxDurationMs: number; defaultDurationMs: number };
}
export type ToolCatalogue = Readonly<Record<string, ToolInfo>>;
