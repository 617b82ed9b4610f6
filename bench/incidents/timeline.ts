import { z } from 'zod';
import type { Investigation } from '../../src/core/investigation.ts';

/**
 * Where an investigation's time went, from its record's timestamps, in milliseconds from the request (the record's
 * createdAt): waiting in the queue, each step's capture on its node (the agent's start to end: bpftrace loading and
 * attaching, the window, printing and parsing, storing the artifacts), the orchestrator's gaps between steps, and
 * the summary. A step's capture minus its window is the capture's own overhead.
 */
export const Timeline = z.object({
  playbook: z.string(),
  /** createdAt → startedAt: queued until an orchestrator took it. */
  queuedMs: z.number().nullable(),
  steps: z.array(
    z.object({
      id: z.string(),
      status: z.string(),
      /** From the request to the agent starting the capture, and to its end; null where the step never ran. */
      startMs: z.number().nullable(),
      endMs: z.number().nullable(),
    }),
  ),
  /** The last step's end → the record's finishedAt: collecting, summarizing and storing the report. */
  finishMs: z.number().nullable(),
  /** createdAt → finishedAt. */
  totalMs: z.number().nullable(),
});
export type Timeline = z.infer<typeof Timeline>;

export function timelineOf(inv: Investigation): Timeline {
  const t0 = Date.parse(inv.createdAt);
  const rel = (iso: string | undefined) => (iso === undefined ? null : Date.parse(iso) - t0);
  const steps = inv.steps.map((s) => {
    const ran = s.status !== 'skipped' && s.node !== null;
    return { id: ran ? s.id : `${s.id} (${s.skip ?? s.status})`, status: s.status, startMs: ran ? rel(s.startedAt) : null, endMs: rel(s.finishedAt) };
  });
  const lastEnd = Math.max(...steps.map((s) => s.endMs ?? -Infinity));
  const total = rel(inv.finishedAt);
  return {
    playbook: inv.playbook,
    queuedMs: rel(inv.startedAt),
    steps,
    finishMs: total !== null && Number.isFinite(lastEnd) ? total - lastEnd : null,
    totalMs: total,
  };
}

/** One line per investigation: "enospc: queue 12 ms; errors 40–6,230 ms; mounts 6,260–6,300 ms; …; finish 180 ms of 6,500 ms". */
export function describeTimeline(t: Timeline): string {
  const ms = (n: number | null) => (n === null ? '–' : n.toLocaleString('en-US'));
  const steps = t.steps.map((s) => (s.startMs === null ? s.id : `${s.id} ${ms(s.startMs)}–${ms(s.endMs)} ms`));
  return `${t.playbook}: queue ${ms(t.queuedMs)} ms; ${steps.join('; ')}; finish ${ms(t.finishMs)} ms of ${ms(t.totalMs)} ms`;
}
