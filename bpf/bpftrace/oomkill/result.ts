/** oomkill's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';
import { RawLine } from '../../raw-lines.ts';

/** The task that ran into the OOM and whose allocation made the kernel pick a victim (not necessarily the victim). */
export const OomTrigger = z.object({
  pid: z.number().int(),
  tid: z.number().int(),
  comm: z.string(),
  cgroupId: z.number().int(),
  cgroup: z.string().nullable(),
});
export type OomTrigger = z.infer<typeof OomTrigger>;

/** One OOM kill, as the kernel reported it when it marked the victim. Memory figures in KiB. */
export const OomKill = z.object({
  /** Milliseconds from the start of the capture's probes. */
  atMs: z.number().int(),
  pid: z.number().int(),
  comm: z.string(),
  uid: z.number().int(),
  totalVmKb: z.number().int(),
  anonRssKb: z.number().int(),
  fileRssKb: z.number().int(),
  shmemRssKb: z.number().int(),
  pgtablesKb: z.number().int(),
  oomScoreAdj: z.number().int(),
  /** null if the trigger's map entry is missing (bpftrace dropped it: map full). */
  trigger: OomTrigger.nullable(),
  /** Its entry in raw.json (the @victims map's line), which a finding points at; absent from results before it. */
  raw: RawLine.optional(),
});
export type OomKill = z.infer<typeof OomKill>;

/** Why a capture ended before its window did: it had seen what it came for. */
export const EarlyEnd = z.object({
  /** Milliseconds from the start of the probes to the end. */
  atMs: z.number().int(),
  /** In words: "ended 2 s after the first OOM kill, at 4.1 s of a 60 s window". */
  reason: z.string(),
});
export type EarlyEnd = z.infer<typeof EarlyEnd>;

export const OomkillResult = z.object({
  /** In the order they happened. */
  kills: z.array(OomKill),
  total: z.number().int(),
  /** Set when the program ended itself `endAfterMs` after the first kill (params), instead of at the window's end. */
  endedEarly: EarlyEnd.nullable().default(null),
});
export type OomkillResult = z.infer<typeof OomkillResult>;
