import { z } from 'zod';
import { IncidentName } from './incident.ts';
import { Timeline } from './timeline.ts';

/**
 * Whose failure a failed incident is: the router's (refused the symptom or chose a playbook the rubric does not
 * accept), the analysis's (the right playbook ran but did not name the cause or culprit), the investigation's (it
 * did not succeed), or the reproducer's (the incident was not happening, so nothing was asked).
 */
export const FailureKind = z.enum(['router', 'analysis', 'investigation', 'reproducer']);

export const IncidentResult = z.object({
  incident: IncidentName,
  symptom: z.string(),
  target: z.object({ cgroup: z.string() }),
  pass: z.boolean(),
  failure: FailureKind.nullable(),
  /** The rubric lines that failed, in words (or the router's refusal, or why the reproducer is broken). */
  failed: z.array(z.string()),
  investigationId: z.string().nullable(),
  playbook: z.string().nullable(),
  /** The record's `routing` (score, why, alternatives) where the router gives one. */
  routing: z.unknown().optional(),
  status: z.string().nullable(),
  headline: z.string().nullable(),
  /** POST to a terminal record with its summary; null when nothing was investigated. */
  seconds: z.number().nullable(),
  /** CPU seconds of the agent and its capture processes (its cgroup's cpu.stat) over the same span. */
  agentCpuSeconds: z.number().nullable(),
  /** Where the time went, per investigation (a triage and the one it chained into); absent when nothing ran. */
  timelines: z.array(Timeline).optional(),
  /** Undo actions that failed: the kernel state may not be as it was. */
  teardownErrors: z.array(z.string()),
});
export type IncidentResult = z.infer<typeof IncidentResult>;

export const BenchReport = z.object({
  schemaVersion: z.literal(1),
  startedAt: z.string(),
  host: z.object({ kernel: z.string(), cpus: z.number(), node: z.string() }),
  results: z.array(IncidentResult),
  passed: z.number(),
  total: z.number(),
  passRate: z.number(),
  /** Over the incidents that reached a summary (a refused request has no request-to-summary time). */
  p50Seconds: z.number().nullable(),
  p95Seconds: z.number().nullable(),
  meanAgentCpuSeconds: z.number().nullable(),
  cpuSource: z.string(),
});
export type BenchReport = z.infer<typeof BenchReport>;
