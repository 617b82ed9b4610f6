import { z } from 'zod';
import { Target } from './target.ts';
import { VariantName } from './capabilities.ts';

export const InvestigationStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type InvestigationStatus = z.infer<typeof InvestigationStatus>;

export const TERMINAL_STATUSES: readonly InvestigationStatus[] = ['succeeded', 'failed', 'cancelled'];
export const isTerminal = (s: InvestigationStatus) => TERMINAL_STATUSES.includes(s);

/**
 * The shape of every name a playbook author or operator writes: playbooks, their steps, the tools they run, and the
 * alert rules that start them. Lower case and at most 63 characters, so a name fits in a label, key or file name.
 */
export const LOWER_CASE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export const PlaybookName = z.string().regex(LOWER_CASE_NAME, 'expected a playbook name such as "enospc"');
export const StepId = z.string().regex(LOWER_CASE_NAME, 'expected a lower-case step id such as "errors"');
export const ToolName = z.string().regex(LOWER_CASE_NAME, 'expected a tool name such as "syscount"');

export const InvestigationRequest = z
  .object({
    playbook: PlaybookName.optional(),
    symptom: z.string().min(1).max(2000).optional(),
    /** Optional only for fleet-wide playbooks (health-sweep): no target means every live node. */
    target: Target.optional(),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()
  .refine((r) => r.playbook !== undefined || r.symptom !== undefined, {
    message: 'give a playbook, or a symptom the service can pick one from',
    path: ['playbook'],
  });
export type InvestigationRequest = z.infer<typeof InvestigationRequest>;

export const StepStatus = z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled']);
export type StepStatus = z.infer<typeof StepStatus>;

export const ArtifactRef = z.object({
  /** Path below investigations/<id>/, e.g. "errors/node-17/raw.json". */
  name: z.string(),
  key: z.string(),
  contentType: z.string(),
  size: z.number().int(),
});
export type ArtifactRef = z.infer<typeof ArtifactRef>;

/** An output a capture produced but could not store yet (object storage down): its agent keeps it and retries. */
export const UnstoredArtifact = z.object({
  /** The artifact's name, as in ArtifactRef. */
  name: z.string(),
  /** ISO time the first upload attempt failed. */
  since: z.string(),
  /** In words, never an errno: "object storage unreachable", "object storage refused the upload (HTTP 403)"… */
  reason: z.string(),
});
export type UnstoredArtifact = z.infer<typeof UnstoredArtifact>;

export const Step = z.object({
  id: z.string(),
  title: z.string().optional(),
  tool: z.string(),
  node: z.string().nullable(),
  status: StepStatus,
  reason: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** Which variant of the tool ran on the node (kprobe, tracepoint, …: src/core/capabilities.ts). */
  variant: VariantName.optional(),
  result: z.unknown().optional(),
  artifacts: z.array(z.string()),
  /** Outputs of this capture still waiting to be stored; the reason says so in words while the list is not empty. */
  unstored: z.array(UnstoredArtifact).optional(),
  /**
   * Why a skipped step was skipped: `not-needed` when its condition did not hold (a branch not taken: the playbook
   * working, shown only in the steps table), `unsupported` when the node lacks what it needs or its parameters did
   * not hold (a note in every summary: something could not be looked at).
   */
  skip: z.enum(['not-needed', 'unsupported']).optional(),
});
export type Step = z.infer<typeof Step>;

export const Severity = z.enum(['critical', 'warning', 'info']);
export type Severity = z.infer<typeof Severity>;

/** What to do about a finding: the commands that show the cause, and the usual remedy. */
export const NextStep = z.object({
  /** Commands to run on the node to see it for yourself, e.g. `findmnt -N 4242`, `df -h /var/lib/app`. */
  commands: z.array(z.string()),
  /** The usual fix, in a sentence or two; stopgaps say they are stopgaps. */
  remedy: z.string(),
});
export type NextStep = z.infer<typeof NextStep>;

export const Finding = z.object({
  severity: Severity,
  title: z.string(),
  detail: z.string(),
  /** Artifact names below the investigation (`mounts/node-17/result.json`), never bare step ids. */
  evidence: z.array(z.string()),
  /** Every critical finding of a playbook says what to do next. */
  next: NextStep.optional(),
});
export type Finding = z.infer<typeof Finding>;

/** Severity order: what every rendering of a summary lists first. */
export const SEVERITY_ORDER: readonly Severity[] = ['critical', 'warning', 'info'];
export const bySeverity = (a: Finding, b: Finding) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity);

export const Summary = z.object({
  headline: z.string(),
  /** In severity order (critical first); never a step that was not needed. */
  findings: z.array(Finding),
  /**
   * What could not be looked at and why, in words ("mount-path on node-17: the kernel has no function_graph
   * tracer"): steps skipped as unsupported or cancelled. Not findings, but a reader must not take silence for a clean bill.
   */
  notes: z.array(z.string()).default([]),
});
export type Summary = z.infer<typeof Summary>;

export const Investigation = z.object({
  id: z.string(),
  status: InvestigationStatus,
  playbook: z.string(),
  symptom: z.string().optional(),
  target: Target.optional(),
  params: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  /**
   * When it must have ended (ISO), set as it starts running from its plan: every step's time box plus allowances to
   * dispatch, capture and finish. Past it the orchestrator's reaper ends it, so nothing stays running.
   */
  deadline: z.string().optional(),
  finishedAt: z.string().optional(),
  requestedBy: z.string(),
  /** The schedule whose firing created it; sweeps compare runs of the same schedule. */
  schedule: z.string().optional(),
  reason: z.string().optional(),
  steps: z.array(Step),
  summary: Summary.optional(),
  /** What is still missing from an ended record, in words: "report not stored yet: object storage unreachable since …". */
  note: z.string().optional(),
  artifacts: z.array(ArtifactRef.extend({ url: z.string() })),
});
export type Investigation = z.infer<typeof Investigation>;
