import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvestigationId } from '../core/ids.ts';
import { VariantName } from '../core/capabilities.ts';
import { CaptureCost } from '../core/capture-cost.ts';
import { ArtifactRef, StepId, ToolName, UnstoredArtifact } from '../core/investigation.ts';
import { CaptureScope, NodeName } from '../core/target.ts';
import { SweepComparison } from '../sweeps/compare.ts';

/**
 * What each queue's jobs carry and what they return (src/queue/queues.ts names the queues). Every schema is parsed
 * where a job is taken: the queues are a trust boundary between the parts.
 */

/** Progress kept in the investigation's job itself, so a restarted orchestrator resumes where the last one parked. */
export const InvestigationProgress = z.object({
  stepIndex: z.number().int().min(0),
  /** Nodes the current step was dispatched to; set once its capture jobs exist. */
  dispatched: z.array(z.string()).optional(),
  /** How many steps from stepIndex were dispatched together (a parallel playbook's); absent: one. */
  group: z.number().int().min(1).optional(),
});
export type InvestigationProgress = z.infer<typeof InvestigationProgress>;

/** One investigation to run: queued by intake, then updated with its progress by the orchestrator running it. */
export const InvestigateJob = z.object({ id: InvestigationId, progress: InvestigationProgress.optional() });
export type InvestigateJob = z.infer<typeof InvestigateJob>;

/** What the orchestrator asks one node agent to do. Validated again by the agent: the queue is a trust boundary. */
export const CaptureJob = z.object({
  investigationId: InvestigationId,
  stepId: StepId,
  node: NodeName,
  tool: ToolName,
  params: z.record(z.string(), z.unknown()),
  /** 0 for instant readers (collectors). */
  durationMs: z.number().int().min(0),
  scope: CaptureScope,
  /**
   * Also store PNG thumbnails of flamegraphs (chat shows no SVG). Only when someone will be sent the picture:
   * rasterising costs 0.1–0.5 s per profile, and the API renders one on demand for anyone else who asks.
   */
  thumbnails: z.boolean().default(false),
});
export type CaptureJob = z.infer<typeof CaptureJob>;

/** An artifact the agent could not store when its capture ended (one schema: steps of the record list them too). */
export { UnstoredArtifact } from '../core/investigation.ts';

/** `skipped`: the node lacks a capability the tool needs (the reason says which). */
export const CaptureStatus = z.enum(['succeeded', 'failed', 'cancelled', 'skipped']);

/** What the agent returns as the capture job's return value; failures are outcomes, not thrown errors. */
export const CaptureOutcome = z.object({
  stepId: StepId,
  node: z.string(),
  status: CaptureStatus,
  reason: z.string().optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
  /** Which of the tool's variants ran (kprobe, tracepoint…); absent when none did, and from agents older than it. */
  variant: VariantName.optional(),
  result: z.unknown().optional(),
  /** What was stored; artifacts the agent could not store are in `unstored`, and may follow as late artifacts. */
  artifacts: z.array(ArtifactRef),
  unstored: z.array(UnstoredArtifact).default([]),
  /** What the capture cost the node, measured by the agent; absent from agents older than it and captures that never ran. */
  cost: CaptureCost.optional(),
});
export type CaptureOutcome = z.infer<typeof CaptureOutcome>;
/** What an agent returns: `unstored` may be left out (agents older than it never send it). */
export type CaptureReply = z.input<typeof CaptureOutcome>;

/**
 * Artifacts the agent stored after its capture job had ended (they waited in its spool while storage was away).
 * The orchestrator merges them into the record: it stays the only writer of investigation records.
 */
export const LateArtifactsJob = z.object({
  investigationId: InvestigationId,
  stepId: StepId,
  node: NodeName,
  artifacts: z.array(ArtifactRef),
});
export type LateArtifactsJob = z.infer<typeof LateArtifactsJob>;

/**
 * One job per artifact, its id derived from where it belongs: an upload retried after a crash or a lost answer
 * adds nothing twice. Hashed because BullMQ forbids ':' in ids and names may hold any character.
 */
export function lateArtifactJobId(a: { investigationId: string; stepId: string; node: string; name: string }): string {
  return `late-${createHash('sha256').update(JSON.stringify([a.investigationId, a.stepId, a.node, a.name])).digest('hex').slice(0, 40)}`;
}

/**
 * Report files (summary.json, report.md, report.html) still to be stored for an ended investigation: when storage
 * failed as it finished, or when late artifacts changed what the report shows. Rendered again from the record when
 * the job runs; retried with backoff until storage takes them. One pending job per investigation (its id).
 */
export const StoreReportsJob = z.object({
  investigationId: InvestigationId,
  /** When storing them first failed (ISO), for the record's note; absent when nothing failed yet. */
  since: z.string().optional(),
  /** A sweep's comparison with earlier runs, stored as comparison.json: computed once, as the run finished. */
  comparison: SweepComparison.optional(),
});
export type StoreReportsJob = z.infer<typeof StoreReportsJob>;

/** One firing of a schedule, made by its BullMQ job scheduler. */
export const ScheduleFireJob = z.object({ schedule: z.string() });
export type ScheduleFireJob = z.infer<typeof ScheduleFireJob>;

/** The investigation a firing started, or why it started none. */
export const ScheduleFireResult = z.union([z.object({ investigation: InvestigationId }), z.object({ skipped: z.string() })]);
export type ScheduleFireResult = z.infer<typeof ScheduleFireResult>;

/** An investigation someone asked to be told about changed ('progress') or ended ('final'). */
export const NotifyJob = z.object({ id: InvestigationId, event: z.enum(['progress', 'final']) });
export type NotifyJob = z.infer<typeof NotifyJob>;
