/** biosnoop's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';
import { HistogramSummary } from '../../histogram.ts';

/** In the program's op-code order (the first letter of rwbs: R, W, F, D; anything else is 0): the parser indexes it. */
export const BioOp = z.enum(['other', 'read', 'write', 'flush', 'discard']);
export type BioOp = z.infer<typeof BioOp>;

const Device = {
  /** Name under /dev, or null when the device is gone by the time the result is read (a detached loop device). */
  device: z.string().nullable(),
  major: z.number().int(),
  minor: z.number().int(),
};

/** The process that submitted the request: its thread id and comm (a kernel thread for writeback, kworker/…). */
const Submitter = {
  pid: z.number().int(),
  comm: z.string(),
};

/** One request, issued to the driver and completed during the capture. */
export const BioRequest = z.object({
  latencyUs: z.number().int().nonnegative(),
  op: BioOp,
  ...Device,
  /** First sector (512 bytes) of the request at issue. */
  sector: z.number().int().nonnegative(),
  /** Bytes the request carried at issue (0 for a flush). */
  bytes: z.number().int().nonnegative(),
  /** The completion's status: 0, or a negative errno as the block layer reports it. */
  error: z.number().int(),
  ...Submitter,
});
export type BioRequest = z.infer<typeof BioRequest>;

/** All requests of one submitter on one device with one op. */
export const BioGroup = HistogramSummary.extend({
  ...Submitter,
  ...Device,
  op: BioOp,
  bytes: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  /** The slowest request exactly, in µs (the histogram's buckets only bound it). */
  maxUs: z.number().int().nonnegative(),
});
export type BioGroup = z.infer<typeof BioGroup>;

export const BiosnoopResult = z.object({
  unit: z.literal('us'),
  /** The minLatencyUs the capture ran with: requests at least this slow were candidates for `requests`. */
  minLatencyUs: z.number().int().nonnegative(),
  /** The slowest requests, slowest first (at most maxRequests). */
  requests: z.array(BioRequest),
  /** Requests at least minLatencyUs slow, all of them, of which `requests` lists the slowest that were kept. */
  slowRequests: z.number().int().nonnegative(),
  /** Per (submitter, device, op), worst maxUs first (at most maxGroups). */
  groups: z.array(BioGroup),
  distinctGroups: z.number().int().nonnegative(),
  totalRequests: z.number().int().nonnegative(),
  totalBytes: z.number().int().nonnegative(),
  totalErrors: z.number().int().nonnegative(),
});
export type BiosnoopResult = z.infer<typeof BiosnoopResult>;
