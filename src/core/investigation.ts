import { z } from 'zod';
import { Target } from './target.ts';
import { VariantName } from './capabilities.ts';
import { Routing } from './routing.ts';
import { CaptureCost } from './capture-cost.ts';

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
  /** What this capture cost its node (one entry per node: each its own), measured; absent on records from before. */
  cost: CaptureCost.optional(),
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

/** How sure a finding is, and why: what the reader weighs it by. */
export const ConfidenceLevel = z.enum(['high', 'medium', 'low']);
export type ConfidenceLevel = z.infer<typeof ConfidenceLevel>;

/**
 * high: the kernel said it directly (count_mounts refused, an OOM kill event, ENOSPC counted for the target's pid);
 * medium: a strong correlation (a namespace near the limit while mounts fail); low: a hint (one hot function in a
 * short profile with few samples). The reason says which, with the figure it rests on.
 */
export const Confidence = z.object({ level: ConfidenceLevel, reason: z.string().min(1).max(500) });
export type Confidence = z.infer<typeof Confidence>;

/** At most this many rows per evidence entry: the first ones say where to look; the artifact has the rest. */
export const MAX_EVIDENCE_ROWS = 20;
/** A quote is a glimpse of the supporting text, never a dump: the artifact is one click away. */
export const MAX_EVIDENCE_QUOTE = 300;

/** RFC 6901 JSON pointer into a JSON artifact: "/rows/3", "/namespaces/0/mounts". */
export const JsonPointer = z.string().max(200).regex(/^(\/([^~/]|~[01])*)+$/, 'expected a JSON pointer such as "/rows/3"');

/** A line range of a text artifact, 1-based and inclusive: [from, to]. */
export const LineRange = z
  .tuple([z.number().int().min(1), z.number().int().min(1)])
  .refine(([from, to]) => from <= to, { message: 'expected [from, to] with from ≤ to' });

/** What supports a finding: a stored artifact and, where known, exactly the rows or lines of it that do. */
export const Evidence = z
  .object({
    /** The artifact's name below the investigation (`mounts/node-17/result.json`), never a bare step id. */
    artifact: z.string().min(1),
    /** JSON pointers into the artifact (result.json: the step's result as stored) at the rows that support it. */
    rows: z.array(JsonPointer).min(1).max(MAX_EVIDENCE_ROWS).optional(),
    /** The lines of a text artifact (raw.txt, stacks.folded) that support it. */
    lines: LineRange.optional(),
    /** The supporting text itself, cut to MAX_EVIDENCE_QUOTE characters. */
    quote: z.string().max(MAX_EVIDENCE_QUOTE).optional(),
  })
  .strict()
  .refine((e) => !(e.rows && e.lines), { message: 'rows of a JSON artifact or lines of a text one, not both' });
export type Evidence = z.infer<typeof Evidence>;

/**
 * Records stored before findings were rated: evidence was a list of artifact names and there was no confidence.
 * They are read as such, saying they were not rated, instead of failing to load.
 */
const upgradeLegacyFinding = (v: unknown) => {
  if (v === null || typeof v !== 'object') return v;
  const f = v as Record<string, unknown>;
  const evidence = Array.isArray(f.evidence) ? f.evidence.map((e) => (typeof e === 'string' ? { artifact: e } : e)) : f.evidence;
  const confidence = f.confidence ?? { level: 'low', reason: 'not rated: recorded before findings carried their confidence' };
  return { ...f, evidence, confidence };
};

export const Finding = z.preprocess(
  upgradeLegacyFinding,
  z.object({
    severity: Severity,
    title: z.string(),
    detail: z.string(),
    confidence: Confidence,
    /** What supports it: artifacts below the investigation, with the rows or lines that do. */
    evidence: z.array(Evidence),
    /** Every critical finding of a playbook says what to do next. */
    next: NextStep.optional(),
  }),
);
export type Finding = z.infer<typeof Finding>;

/** Severity order: what every rendering of a summary lists first. */
export const SEVERITY_ORDER: readonly Severity[] = ['critical', 'warning', 'info'];
export const bySeverity = (a: Finding, b: Finding) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity);

/** What a broad playbook (triage) says to run next: a specific playbook, the reason, and whether to start it at once. */
export const NextPlaybook = z.object({
  playbook: PlaybookName,
  why: z.string(),
  chain: z.boolean(),
});
export type NextPlaybook = z.infer<typeof NextPlaybook>;

export const Summary = z.object({
  headline: z.string(),
  /** In severity order (critical first); never a step that was not needed. */
  findings: z.array(Finding),
  /**
   * What could not be looked at and why, in words ("mount-path on node-17: the kernel has no function_graph
   * tracer"): steps skipped as unsupported or cancelled. Not findings, but a reader must not take silence for a clean bill.
   */
  notes: z.array(z.string()).default([]),
  /** The playbook to run next and why (triage); `chain`: one signal clearly dominates, so the orchestrator starts it (the record's `next`). */
  nextPlaybook: NextPlaybook.optional(),
});
export type Summary = z.infer<typeof Summary>;

export const Investigation = z.object({
  id: z.string(),
  status: InvestigationStatus,
  playbook: z.string(),
  symptom: z.string().optional(),
  /** How the playbook was chosen: named by the request, or scored from the symptom (absent on records from before). */
  routing: Routing.optional(),
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
  /** The investigation (triage) that started this one as its next step: a chained one never chains further. */
  chainedFrom: z.string().optional(),
  /** The investigation this one started as its next step (its summary's nextPlaybook, chained). */
  next: z.object({ id: z.string(), playbook: z.string() }).optional(),
  reason: z.string().optional(),
  steps: z.array(Step),
  summary: Summary.optional(),
  /** What is still missing from an ended record, in words: "report not stored yet: object storage unreachable since …". */
  note: z.string().optional(),
  artifacts: z.array(ArtifactRef.extend({ url: z.string() })),
});
export type Investigation = z.infer<typeof Investigation>;
