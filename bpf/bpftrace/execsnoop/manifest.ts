import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { cgroupArgs, positionalInt } from '../../bpftrace-output.ts';
import type { BpftraceTool, KernelScope } from '../../tool.ts';
import { parseExecsnoop } from './parser.ts';
import { ExecsnoopResult } from './result.ts';

export const ExecsnoopParams = z
  .object({
    /** How many filenames and parents the result keeps, most frequent first (the kernel counts them all). */
    top: z.number().int().min(1).max(500).default(20),
  })
  .strict();
export type ExecsnoopParams = z.output<typeof ExecsnoopParams>;

export const execsnoop: BpftraceTool<typeof ExecsnoopParams, ExecsnoopResult> = {
  kind: 'bpftrace',
  name: 'execsnoop',
  description: 'Counts process executions (execve/execveat) by parent process, cgroup and filename, with failures by errno and the exec rate.',
  params: ExecsnoopParams,
  requires: [
    { kind: 'bpftrace' },
    // curtask->real_parent needs the kernel's type information.
    { kind: 'btf' },
    ...['execve', 'execveat'].flatMap((call) => [
      { kind: 'tracepoint' as const, name: `syscalls/sys_enter_${call}` },
      { kind: 'tracepoint' as const, name: `syscalls/sys_exit_${call}` },
    ]),
  ],
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 },
  // Filenames up to 199 bytes (bpftrace's default of 63 cuts long paths short).
  env: { BPFTRACE_STRLEN: '200' },
  programFile: fileURLToPath(new URL('./program.bt', import.meta.url)),
  args(_params: ExecsnoopParams, scope: KernelScope): string[] {
    const cgroups = cgroupArgs(scope);
    return [cgroups.first, positionalInt('pid', scope.pid), ...cgroups.extra];
  },
  parse(stdout, params, ctx) {
    return { result: parseExecsnoop(stdout, params.top, ctx), extraArtifacts: [] };
  },
  result: ExecsnoopResult,
};
