import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { cgroupArgs, positionalInt } from '../../bpftrace-output.ts';
import type { BpftraceTool, KernelScope } from '../../tool.ts';
import { sysfsDeviceNamer } from './devices.ts';
import { parseBiolatency } from './parser.ts';
import { BiolatencyResult } from './result.ts';

/** The target (cgroup, pid) comes from the capture's scope; the tool itself has nothing to tune. */
export const BiolatencyParams = z.object({}).strict();
export type BiolatencyParams = z.output<typeof BiolatencyParams>;

export const biolatency: BpftraceTool<typeof BiolatencyParams, BiolatencyResult> = {
  kind: 'bpftrace',
  name: 'biolatency',
  description: 'Histograms of block I/O device latency (issue → completion) per device and operation, in microseconds.',
  params: BiolatencyParams,
  requires: [
    { kind: 'bpftrace' },
    { kind: 'tracepoint', name: 'block/block_rq_insert' },
    { kind: 'tracepoint', name: 'block/block_rq_issue' },
    { kind: 'tracepoint', name: 'block/block_rq_complete' },
  ],
  // At most 5 histograms per device: the output stays small however busy the disks are.
  limits: { minDurationMs: 1_000, maxDurationMs: 60_000, defaultDurationMs: 10_000, maxOutputBytes: 4 * 1024 * 1024, stopGraceMs: 2_000 },
  env: {},
  programFile: fileURLToPath(new URL('./program.bt', import.meta.url)),
  args(_params: BiolatencyParams, scope: KernelScope): string[] {
    const cgroups = cgroupArgs(scope);
    return [cgroups.first, positionalInt('pid', scope.pid), ...cgroups.extra];
  },
  parse(stdout) {
    // parse() runs on the node right after the capture, so sysfs still names the devices.
    return { result: parseBiolatency(stdout, sysfsDeviceNamer()), extraArtifacts: [] };
  },
  result: BiolatencyResult,
};
