import { z } from 'zod';
import { InvestigationId } from '../core/ids.ts';
import { ArtifactRef } from '../core/investigation.ts';
import { CaptureScope, NodeName } from '../core/target.ts';

export const INVESTIGATIONS_QUEUE = 'investigations';

/** BullMQ forbids ':' in queue names, so the design's "capture:<node>" is spelled "capture-<node>". */
export const captureQueueName = (node: string) => `capture-${node}`;

export const InvestigateJob = z.object({ id: InvestigationId });
export type InvestigateJob = z.infer<typeof InvestigateJob>;

export const StepId = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/);

/** What the orchestrator asks one node agent to do. Validated again by the agent: the queue is a trust boundary. */
export const CaptureJob = z.object({
  investigationId: InvestigationId,
  stepId: StepId,
  node: NodeName,
  tool: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/),
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
  artifacts: z.array(ArtifactRef),
});
export type CaptureOutcome = z.infer<typeof CaptureOutcome>;
