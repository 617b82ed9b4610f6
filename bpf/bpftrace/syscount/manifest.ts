import { z } from 'zod';
import { ErrnoName, errnoNumber } from '../../../src/core/errno.ts';
import { syscallNumber } from '../../syscalls.ts';
import { defineBpftraceTool } from '../define.ts';
import { parseSyscount } from './parser.ts';
import { SyscountResult } from './result.ts';

export const SyscountParams = z
  .object({
    /** Only count failures with this errno; all failures when absent. */
    errno: ErrnoName.optional(),
  })
  .strict();
export type SyscountParams = z.output<typeof SyscountParams>;

/** The program's $11..$26, in its order (program.bt says what each group is). */
export const DESCRIPTOR_SYSCALLS = [
  'write', 'pwrite64', 'writev', 'pwritev', 'pwritev2', 'fallocate', 'ftruncate', 'fsync', 'fdatasync', 'sync_file_range', 'sendfile',
  'copy_file_range', 'splice',
  'close',
  'dup2', 'dup3',
] as const;

/** No syscall has this number: the slot of a syscall the architecture lacks matches nothing. */
const NO_SYSCALL = 999_999;

/**
 * The numbers of DESCRIPTOR_SYSCALLS on `arch`. args() runs on the agent, on the node the program runs on, so
 * process.arch is the program's architecture. An architecture without a table cannot be told which is which.
 */
export function descriptorSyscallArgs(arch: string): string[] {
  if (syscallNumber(arch, 'write') === undefined) throw new Error(`no syscall table for architecture ${arch}`);
  return DESCRIPTOR_SYSCALLS.map((name) => String(syscallNumber(arch, name) ?? NO_SYSCALL));
}

export const syscount = defineBpftraceTool({
  name: 'syscount',
  description:
    'Counts failing syscalls by syscall, errno, process and cgroup (raw_syscalls:sys_exit with ret < 0), and for write-type syscalls the descriptor they failed on, resolved to its file when the capture ends.',
  params: SyscountParams,
  requires: [{ kind: 'tracepoint', name: 'raw_syscalls/sys_enter' }, { kind: 'tracepoint', name: 'raw_syscalls/sys_exit' }],
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 },
  manifestUrl: import.meta.url,
  leadingArgs(params) {
    const errno = params.errno === undefined ? 0 : errnoNumber(params.errno);
    if (errno === undefined) throw new Error(`unknown errno ${params.errno}`);
    return [String(errno)];
  },
  trailingArgs: () => descriptorSyscallArgs(process.arch),
  parse: (stdout, _params, ctx) => ({ result: parseSyscount(stdout, ctx) }),
  result: SyscountResult,
});
