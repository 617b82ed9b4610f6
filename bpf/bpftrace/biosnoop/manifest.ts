import { z } from 'zod';
import { positionalInt } from '../../bpftrace-output.ts';
import { sysfsDeviceNamer } from '../../block-devices.ts';
import { defineBpftraceTool } from '../define.ts';
import { parseBiosnoop } from './parser.ts';
import { BiosnoopResult } from './result.ts';

export const BiosnoopParams = z
  .object({
    /** Requests at least this slow (µs, issue → completion) are kept one by one; all are aggregated. */
    minLatencyUs: z.number().int().min(0).max(60_000_000).default(1_000),
    /** How many single requests the program keeps (then only new slowest ones) and the result lists. */
    maxRequests: z.number().int().min(1).max(1_000).default(50),
    /** How many (submitter, device, op) groups the result lists, worst first (the kernel counts them all). */
    maxGroups: z.number().int().min(1).max(1_000).default(100),
  })
  .strict();
export type BiosnoopParams = z.output<typeof BiosnoopParams>;

export const biosnoop = defineBpftraceTool({
  name: 'biosnoop',
  description:
    'Block I/O requests with their device latency (issue → completion), device, sector, size and submitting process: the slowest ones, and aggregates per process, device and operation.',
  params: BiosnoopParams,
  requires: [
    { kind: 'tracepoint', name: 'block/block_bio_queue' },
    { kind: 'tracepoint', name: 'block/block_bio_backmerge' },
    { kind: 'tracepoint', name: 'block/block_bio_frontmerge' },
    { kind: 'tracepoint', name: 'block/block_bio_remap' },
    { kind: 'tracepoint', name: 'block/block_split' },
    { kind: 'tracepoint', name: 'block/block_rq_insert' },
    { kind: 'tracepoint', name: 'block/block_rq_issue' },
    { kind: 'tracepoint', name: 'block/block_rq_complete' },
  ],
  // Per-request maps hold only bios and requests in flight (merged bios drop their keys); @slow is bounded by maxRequests plus the few new records.
  limits: { minDurationMs: 1_000, maxDurationMs: 60_000, defaultDurationMs: 10_000, maxOutputBytes: 8 * 1024 * 1024, stopGraceMs: 2_000 },
  manifestUrl: import.meta.url,
  leadingArgs: (p) => [positionalInt('minLatencyUs', p.minLatencyUs), positionalInt('maxRequests', p.maxRequests)],
  // parse() runs on the node right after the capture, so sysfs still names the devices.
  parse: (stdout, params) => ({ result: parseBiosnoop(stdout, params, sysfsDeviceNamer()) }),
  result: BiosnoopResult,
});
