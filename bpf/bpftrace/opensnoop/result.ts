/** opensnoop's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';

/** A path the row's process opened (or failed to open), as the process passed it: relative paths stay relative. */
export const OpenPath = z.object({
  path: z.string(),
  count: z.number().int(),
});
export type OpenPath = z.infer<typeof OpenPath>;

/** One row per (outcome, process, cgroup, comm): how often it opened files with that outcome during the capture. */
export const OpensnoopRow = z.object({
  /** The errno name of the failure (ENOENT, EACCES, EMFILE, …; E<n> when unknown); null for successful opens. */
  errno: z.string().nullable(),
  comm: z.string(),
  pid: z.number().int(),
  cgroupId: z.number().int(),
  /** The cgroup's path below the node's cgroup v2 root, when the agent could find it. */
  cgroup: z.string().nullable(),
  pod: z.string().nullable(),
  count: z.number().int(),
  /** The paths opened most often with this outcome, most first (at most the `pathsPerRow` param). */
  paths: z.array(OpenPath),
  /** How many distinct paths the row has in all. */
  distinctPaths: z.number().int(),
});
export type OpensnoopRow = z.infer<typeof OpensnoopRow>;

export const ErrnoCount = z.object({ errno: z.string(), count: z.number().int() });

export const OpensnoopResult = z.object({
  /** Most opens first, at most the `maxRows` param. */
  rows: z.array(OpensnoopRow),
  /** How many rows there were before `maxRows` cut them. */
  distinctRows: z.number().int(),
  /** Failed opens counted (all rows, with the errno filter applied in the kernel). */
  totalFailures: z.number().int(),
  /** Successful opens counted: 0 unless the `successes` param asked for them. */
  totalSuccesses: z.number().int(),
  /** Failures by errno, most first. */
  byErrno: z.array(ErrnoCount),
});
export type OpensnoopResult = z.infer<typeof OpensnoopResult>;
