import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ErrnoName, errnoNumber } from '../../src/core/errno.ts';
import { SyscountResult } from '../../src/core/tool-results.ts';
import { cgroupArgs, positionalInt } from '../bpftrace-output.ts';
import type { BpftraceTool, KernelScope } from '../tool.ts';
import { parseSyscount } from './parser.ts';

export const SyscountParams = z
  .object({
    /** Only count failures with this errno; all failures when absent. */
    errno: ErrnoName.optional(),
  })
  .strict();
export type SyscountParams = z.output<typeof SyscountParams>;

export const syscount: BpftraceTool<typeof SyscountParams, SyscountResult> = {
  kind: 'bpftrace',
  name: 'syscount',
  description:
    'Counts failing syscalls by syscall, errno, process and cgroup (raw_syscalls:sys_exit with ret < 0), and for write-type syscalls the descriptor they failed on, resolved to its file when the capture ends.',
  params: SyscountParams,
  // syscalls/* (CONFIG_FTRACE_SYSCALLS) carry the descriptor; write stands for the set, which comes and goes together.
  requires: [{ kind: 'bpftrace' }, { kind: 'tracepoint', name: 'raw_syscalls/sys_exit' }, { kind: 'tracepoint', name: 'syscalls/sys_enter_write' }],
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 },
  env: {},
  programFile: fileURLToPath(new URL('./program.bt', import.meta.url)),
  args(params: SyscountParams, scope: KernelScope): string[] {
    const errno = params.errno === undefined ? 0 : errnoNumber(params.errno);
    if (errno === undefined) throw new Error(`unknown errno ${params.errno}`);
    const cgroups = cgroupArgs(scope);
    return [String(errno), cgroups.first, positionalInt('pid', scope.pid), ...cgroups.extra];
  },
  parse(stdout, _params, ctx) {
    return { result: parseSyscount(stdout, ctx), extraArtifacts: [] };
  },
  result: SyscountResult,
};
