import { z } from 'zod';
import { ErrnoName, errnoNumber } from '../../../src/core/errno.ts';
import { defineBpftraceTool } from '../define.ts';
import { parseOpensnoop } from './parser.ts';
import { OpensnoopResult } from './result.ts';

export const OpensnoopParams = z
  .object({
    /** Only count failures with this errno (ENOENT, EACCES, EMFILE, …); every failure when absent. */
    errno: ErrnoName.optional(),
    /** Count successful opens too (rows with errno null): every file the scope opens, so scope it tightly. */
    successes: z.boolean().default(false),
    /** How many rows the result keeps, most opens first (the kernel counts them all). */
    maxRows: z.number().int().min(1).max(1000).default(50),
    /** How many paths each row keeps, most opened first. */
    pathsPerRow: z.number().int().min(1).max(64).default(8),
  })
  .strict();
export type OpensnoopParams = z.output<typeof OpensnoopParams>;

const SYSCALLS = ['open', 'openat', 'openat2'];

export const opensnoop = defineBpftraceTool({
  name: 'opensnoop',
  description:
    'Counts file opens (open, openat, openat2) by outcome, process and cgroup, with the paths opened most: failed opens with their errno (ENOENT, EACCES, EMFILE, ENFILE, …), and successful ones when asked.',
  params: OpensnoopParams,
  variants: [
    {
      name: 'fentry',
      // do_sys_openat2 is where all three syscalls meet since 5.6; static, so it is only there when not inlined.
      requires: [{ kind: 'fentry', function: 'do_sys_openat2' }, { kind: 'kernel', min: '5.6' }],
      description: 'fexit on do_sys_openat2 (open, openat and openat2): one probe, arguments and return value together',
    },
    {
      name: 'tracepoint',
      requires: SYSCALLS.flatMap((s) => [
        { kind: 'tracepoint' as const, name: `syscalls/sys_enter_${s}` },
        { kind: 'tracepoint' as const, name: `syscalls/sys_exit_${s}` },
      ]),
      description: 'tracepoints syscalls:sys_enter_/sys_exit_ open, openat and openat2: the filename kept at entry, read at exit',
    },
  ],
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 },
  // Paths up to 200 bytes (longer ones are cut there), as execsnoop and mountsnoop keep them.
  env: { BPFTRACE_STRLEN: '200' },
  manifestUrl: import.meta.url,
  leadingArgs(params) {
    const errno = params.errno === undefined ? 0 : errnoNumber(params.errno);
    if (errno === undefined) throw new Error(`unknown errno ${params.errno}`);
    return [String(errno)];
  },
  trailingArgs: (params) => [params.successes ? '1' : '0'],
  parse: (stdout, params, ctx) => ({ result: parseOpensnoop(stdout, params, ctx) }),
  result: OpensnoopResult,
});
