import { z } from 'zod';
import { defineBpftraceTool } from '../define.ts';
import { parseMountsnoop } from './parser.ts';
import { MountsnoopResult } from './result.ts';

export const MountsnoopParams = z
  .object({
    /** How many of the most frequent paths the result keeps (the kernel counts every distinct path). */
    maxPaths: z.number().int().min(1).max(500).default(20),
  })
  .strict();
export type MountsnoopParams = z.output<typeof MountsnoopParams>;

export const mountsnoop = defineBpftraceTool({
  name: 'mountsnoop',
  description: 'Counts mount(2), umount2(2), open_tree(2) and move_mount(2) calls by flags, result, process and cgroup, with the paths they name.',
  params: MountsnoopParams,
  requires: ['mount', 'umount', 'open_tree', 'move_mount'].flatMap((call) => [
    { kind: 'tracepoint' as const, name: `syscalls/sys_enter_${call}` },
    { kind: 'tracepoint' as const, name: `syscalls/sys_exit_${call}` },
  ]),
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 },
  // Paths up to 199 bytes (bpftrace's default of 63 cuts kubelet and containerd mount points short).
  env: { BPFTRACE_STRLEN: '200' },
  manifestUrl: import.meta.url,
  parse: (stdout, params, ctx) => ({ result: parseMountsnoop(stdout, params.maxPaths, ctx) }),
  result: MountsnoopResult,
});
