import { z } from 'zod';
import { defineBpftraceTool } from '../define.ts';
import { sysfsDeviceNamer } from '../../block-devices.ts';
import { parseBiolatency } from './parser.ts';
import { BiolatencyResult } from './result.ts';

/** The target (cgroup, pid) comes from the capture's scope; the tool itself has nothing to tune. */
export const BiolatencyParams = z.object({}).strict();
export type BiolatencyParams = z.output<typeof BiolatencyParams>;

export const biolatency = defineBpftraceTool({
  name: 'biolatency',
  description: 'Histograms of block I/O device latency (issue → completion) per device and operation, and per submitting cgroup, in microseconds.',
  params: BiolatencyParams,
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
  // At most 5 histograms per device: the output stays small however busy the disks are.
  limits: { minDurationMs: 1_000, maxDurationMs: 60_000, defaultDurationMs: 10_000, maxOutputBytes: 4 * 1024 * 1024, stopGraceMs: 2_000 },
  manifestUrl: import.meta.url,
  // parse() runs on the node right after the capture, so sysfs still names the devices.
  parse: (stdout, _params, ctx) => ({ result: parseBiolatency(stdout, sysfsDeviceNamer(), ctx.cgroupPathOf) }),
  result: BiolatencyResult,
});
