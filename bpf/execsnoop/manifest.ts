import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { cgroupArgs, positionalInt } from '../bpftrace-output.ts';
import type { BpftraceTool, KernelScope } from '../tool.ts';
import { parseExecsnoop } from './parser.ts';

export const ExecsnoopParams = z
  .object({
    /** How many filenames and parents the result keeps, most frequent first (the kernel counts them all). */
    top: z.number().int().min(1).max(500).default(20),
  })
  .strict();
export type ExecsnoopParams = z.output<typeof ExecsnoopParams>;

const ErrnoCount = z.object({ errno: z.string(), count: z.number().int() });

/** A program that was executed (or that exec failed to run), over all callers. */
export const ExecFilename = z.object({
  /** As passed to execve, so relative names and PATH lookups that failed (ENOENT) appear as tried. */
  filename: z.string(),
  count: z.number().int(),
  failed: z.number().int(),
  failures: z.array(ErrnoCount),
});
export type ExecFilename = z.infer<typeof ExecFilename>;

/** A process whose children (or which itself) called exec, with the cgroup of the callers. */
export const ExecParent = z.object({
  ppid: z.number().int(),
  /** The parent's comm at the time of the execs (the most frequent one if it changed); null if unknown. */
  comm: z.string().nullable(),
  cgroupId: z.number().int(),
  cgroup: z.string().nullable(),
  count: z.number().int(),
  failed: z.number().int(),
});
export type ExecParent = z.infer<typeof ExecParent>;

export const ExecsnoopResult = z.object({
  /** exec attempts (execve and execveat), failures included. */
  execs: z.number().int(),
  failed: z.number().int(),
  /** How long the probes ran, measured by the program itself; null if it did not say. */
  durationMs: z.number().int().nullable(),
  /** execs per second over durationMs, one decimal; null without a duration. */
  execsPerSecond: z.number().nullable(),
  filenames: z.array(ExecFilename),
  distinctFilenames: z.number().int(),
  parents: z.array(ExecParent),
  distinctParents: z.number().int(),
});
export type ExecsnoopResult = z.infer<typeof ExecsnoopResult>;

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
