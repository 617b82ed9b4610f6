/** oomkill's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';

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
});
export type OomKill = z.infer<typeof OomKill>;

export const OomkillResult = z.object({
  /** In the order they happened. */
  kills: z.array(OomKill),
  total: z.number().int(),
});
export type OomkillResult = z.infer<typeof OomkillResult>;
