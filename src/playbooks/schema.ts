import { z } from 'zod';
import { Requirement } from '../core/capabilities.ts';
import { PlaybookName, StepId, ToolName } from '../core/investigation.ts';
import { RoutingSpec } from './vocabulary.ts';

/** The YAML playbook language, as a zod schema: what `playbooks/*.yaml` may say. */

/** A playbook parameter's name, as requests and alert rules give it: camelCase, so it reads as a CEL variable. */
export const ParamName = z.string().regex(/^[a-z][a-zA-Z0-9]{0,31}$/, 'expected a parameter name such as "duration"');
const DurationText = z.string().regex(/^\d+(\.\d+)?(ms|s|m)$/, 'expected a duration such as "10s", "500ms" or "2m"');
/** A CEL expression; see expressions.ts for the variables in scope. */
const Cel = z.string().min(1).max(4000);

const ParamBase = { description: z.string().max(500).optional() };
export const ParamSpec = z.discriminatedUnion('type', [
  z.object({ type: z.literal('duration'), default: DurationText, min: DurationText, max: DurationText, ...ParamBase }).strict(),
  z.object({ type: z.literal('integer'), default: z.number().int(), min: z.number().int(), max: z.number().int(), ...ParamBase }).strict(),
  z.object({ type: z.literal('errno'), default: z.string().optional(), ...ParamBase }).strict(),
  z
    .object({
      type: z.literal('string'),
      default: z.string().optional(),
      /** Anchored regular expression every value must match: strings reach tools, so they are always constrained. */
      pattern: z.string().min(1),
      maxLength: z.number().int().min(1).max(256).default(128),
      ...ParamBase,
    })
    .strict(),
  z.object({ type: z.literal('boolean'), default: z.boolean().optional(), ...ParamBase }).strict(),
]);
export type ParamSpec = z.infer<typeof ParamSpec>;

/** A literal, or `{ expr: <CEL> }` computed from params and earlier steps when the step is reached. */
export const Value = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.array(z.union([z.string(), z.number()])),
  z.object({ expr: Cel }).strict(),
]);
export type Value = z.infer<typeof Value>;

const Action = {
  /** A tool of the catalogue (bpf/ tools and collectors). */
  tool: ToolName,
  title: z.string().min(1).max(200),
  /** A duration literal or an expression giving milliseconds or a duration string; collectors need none. */
  duration: Value.optional(),
  params: z.record(z.string(), Value).default({}),
  /** Node capabilities this step needs beyond the tool's own (kernel range, tracer, BTF…). */
  requires: z.array(Requirement).default([]),
};

export const FallbackSpec = z.object(Action).strict();

export const StepSpec = z
  .object({
    id: StepId,
    ...Action,
    /** Runs only when this CEL expression holds; otherwise recorded as skipped, not needed, with `notNeeded` as the reason. */
    when: Cel.optional(),
    /** Why the step is not needed when `when` does not hold, in words a reader follows: "no mount(2) failed". */
    notNeeded: z.string().min(1).max(200).optional(),
    /**
     * Dispatched together with the step before it (and with the run of `parallel` steps that one ends) instead of
     * after it: independent follow-ups of one earlier result run side by side. It may not read the steps it runs
     * with (step-reads.ts checks at load); its `when` and parameters may read the steps before them.
     */
    parallel: z.boolean().optional(),
    /** Runs instead when the node lacks what the step requires. Without one, the step is skipped with the reason. */
    fallback: FallbackSpec.optional(),
    /**
     * What a capture that succeeded must show for its result to count (a CEL expression over `result`, this node's,
     * and `steps`), and why it should: "mount(2) failed, so the mount path was called". A result that does not show it
     * fails the step with `because` and what the tool says of its empty result (`result.emptyBecause`), instead of
     * passing for a capture that saw nothing.
     */
    expect: z.object({ that: Cel, because: z.string().min(1).max(300) }).strict().optional(),
  })
  .strict();
export type StepSpec = z.infer<typeof StepSpec>;

/** What a finding rule tells a reader to do: commands and remedy are templates like the title. */
const NextSpec = z
  .object({
    commands: z.array(z.string().min(1).max(500)).max(8).default([]),
    remedy: z.string().min(1).max(2000),
  })
  .strict();

const Severity = z.enum(['critical', 'warning', 'info']);

/** A path to a list or field of a step's result, as CEL reads it: "rows", "all.p99". */
export const ResultPath = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*){0,7}$/, 'expected a path in the result such as "rows" or "all.p99"');

/**
 * What supports a finding: a step id (its stored artifacts, whole), or the rows of a list in the step's result that do
 * (`rows` with a `where` over `row`, and `item`, `steps`, `params`), or the fields it quotes. Rows and fields become
 * JSON pointers into each node's result.json ("/namespaces/3"), so a reader opens exactly those.
 */
export const EvidenceSpec = z.union([
  StepId,
  z
    .object({
      step: StepId,
      /** The list in the result whose rows support the finding: "rows", "namespaces". */
      rows: ResultPath.optional(),
      /** CEL over `row` (and `item`, `steps`, `params`): which of those rows. Without it, every row (the first 20). */
      where: Cel.optional(),
      /** Fields of the result the finding quotes: "total", "all.p99". */
      fields: z.array(ResultPath).min(1).max(20).optional(),
    })
    .strict(),
]);
export type EvidenceSpec = z.infer<typeof EvidenceSpec>;

/**
 * How sure a rule's finding is: a level, literal or computed (CEL giving "high", "medium" or "low"), and the reason
 * in words, a template. high: the kernel said it directly; medium: a strong correlation; low: a hint.
 */
export const ConfidenceSpec = z
  .object({
    level: z.union([z.enum(['high', 'medium', 'low']), z.object({ expr: Cel }).strict()]),
    reason: z.string().min(1).max(500),
  })
  .strict();
export type ConfidenceSpec = z.infer<typeof ConfidenceSpec>;

export const FindingRule = z.union([
  z
    .object({
      /** A CEL condition; the rule yields one finding when it holds... */
      when: Cel,
      /** ...or one per element of this CEL list, bound to `item` in the templates. */
      forEach: Cel.optional(),
      severity: Severity,
      /** Templates: text with {{ CEL }} interpolations. */
      title: z.string().min(1).max(500),
      detail: z.string().max(4000).default(''),
      /** How sure the finding is, and why: required (checked by the compiler, with its path). */
      confidence: ConfidenceSpec.optional(),
      /** What supports it: step ids (their artifacts, whole) or the rows or fields of their results that do. */
      evidence: z.array(EvidenceSpec).max(8).default([]),
      /** Required for critical findings: the commands that show the cause and the usual remedy. */
      next: NextSpec.optional(),
    })
    .strict(),
  z
    .object({
      /** A built-in summarizer (src/findings) with its arguments: rich findings written once in code. */
      use: z.enum(['syscall-errors', 'cpu-profile', 'triage', 'cpu-throttling', 'latency']),
      step: StepId,
      with: z.record(z.string(), z.string()).default({}),
    })
    .strict(),
]);
export type FindingRule = z.infer<typeof FindingRule>;

export const HeadlineRule = z.object({ when: Cel, text: z.string().min(1).max(2000) }).strict();

export const PlaybookDoc = z
  .object({
    name: PlaybookName,
    title: z.string().min(1).max(200),
    description: z.string().min(1).max(2000),
    /**
     * Case-insensitive regular expressions matched against a request's symptom (its words lower-cased, joined by
     * spaces): the older way to route, each weighing LEGACY_SYMPTOM_WEIGHT. Prefer `routing`.
     */
    symptoms: z.array(z.string().min(1).max(200)).default([]),
    /** What in a symptom's text points to this playbook, weighted (vocabulary.ts; playbooks/README.md, "Routing"). */
    routing: RoutingSpec.default({ phrases: [], denied: [], errnos: {}, signals: {}, exitCodes: {}, units: {} }),
    /** A sweep: may run with no target, on every live node. */
    fleetWide: z.boolean().default(false),
    /**
     * Every step is dispatched at once and collected together (triage's short checklist), instead of one after the
     * other. Its steps then depend on no other step: no `when`, and no `steps.` in a duration or parameter.
     */
    parallel: z.boolean().default(false),
    params: z.record(ParamName, ParamSpec).default({}),
    steps: z.array(StepSpec).min(1).max(32),
    findings: z.array(FindingRule).default([]),
    /** The first rule whose condition holds gives the headline; otherwise the first summarizer's or finding's. */
    headline: z.array(HeadlineRule).default([]),
  })
  .strict();
export type PlaybookDoc = z.infer<typeof PlaybookDoc>;
