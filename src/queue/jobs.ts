import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvestigationId } from '../core/ids.ts';
import { ArtifactRef, StepId, ToolName, UnstoredArtifact } from '../core/investigation.ts';
import { CaptureScope, NodeName } from '../core/target.ts';
import { SweepComparison } from '../sweeps/compare.ts';

export const INVESTIGATIONS_QUEUE = 'investigations';

/** BullMQ forbids ':' in queue names, so the design's "capture:<node>" is spelled "capture-<node>". */
export const captureQueueName = (node: string) => `capture-${node}`;

export const InvestigateJob = z.object({ id: InvestigationId });
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
  result: z.unknown().optional(),
  /** What was stored; artifacts the agent could not store are in `unstored`, and may follow as late artifacts. */
  artifacts: z.array(ArtifactRef),
  unstored: z.array(UnstoredArtifact).default([]),
});
export type CaptureOutcome = z.infer<typeof CaptureOutcome>;
/** What an agent returns: `unstored` may be left out (agents older than it never send it). */
export type CaptureReply = z.input<typeof CaptureOutcome>;

/**
 * Artifacts the agent stored after its capture job had ended (they waited in its spool while storage was away).
 * The orchestrator merges them into the record: it stays the only writer of investigation records.
 */
export const LATE_ARTIFACTS_QUEUE = 'late-artifacts';

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
export const REPORTS_QUEUE = 'reports';

export const StoreReportsJob = z.object({
  investigationId: InvestigationId,
  /** When storing them first failed (ISO), for the record's note; absent when nothing failed yet. */
  since: z.string().optional(),
  /** A sweep's comparison with earlier runs, stored as comparison.json: computed once, as the run finished. */
  comparison: SweepComparison.optional(),
});
export type StoreReportsJob = z.infer<typeof StoreReportsJob>;
