import { z } from 'zod';
import { defineBpftraceTool } from '../define.ts';
import { parseExecsnoop } from './parser.ts';
import { ExecsnoopResult } from './result.ts';

export const ExecsnoopParams = z
  .object({
    /** How many filenames and parents the result keeps, most frequent first (the kernel counts them all). */
    top: z.number().int().min(1).max(500).default(20),
  })
  .strict();
export type ExecsnoopParams = z.output<typeof ExecsnoopParams>;

export const execsnoop = defineBpftraceTool({
  name: 'execsnoop',
  description: 'Counts process executions (execve/execveat) by parent process, cgroup and filename, with failures by errno and the exec rate.',
  params: ExecsnoopParams,
  requires: [
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
  manifestUrl: import.meta.url,
  parse: (stdout, params, ctx) => ({ result: parseExecsnoop(stdout, params.top, ctx) }),
  result: ExecsnoopResult,
});
