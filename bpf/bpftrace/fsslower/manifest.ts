import { z } from 'zod';
import { positionalInt } from '../../bpftrace-output.ts';
import { defineBpftraceTool } from '../define.ts';
import { parseFsslower } from './parser.ts';
import { FsslowerResult } from './result.ts';

export const FsslowerParams = z
  .object({
    /** Report calls at least this slow, in ms; 0 times and lists every call (busy: use a short capture). */
    thresholdMs: z.number().int().min(0).max(600_000).default(10),
    /** How many slow calls the program keeps one by one (then only new slowest ones) and the result lists. */
    maxOps: z.number().int().min(1).max(1_000).default(50),
  })
  .strict();
export type FsslowerParams = z.output<typeof FsslowerParams>;

export const fsslower = defineBpftraceTool({
  name: 'fsslower',
  description:
    'File reads, writes, opens and fsyncs slower than a threshold, on any filesystem: process, file name or descriptor, size and latency.',
  params: FsslowerParams,
  variants: [
    {
      name: 'kprobe',
      requires: [
        { kind: 'btf' },
        { kind: 'kprobe', function: 'vfs_read' },
        { kind: 'kprobe', function: 'vfs_write' },
        { kind: 'kprobe', function: 'vfs_open' },
        { kind: 'kprobe', function: 'vfs_fsync_range' },
      ],
      description: 'kprobes/kretprobes on vfs_read, vfs_write, vfs_open, vfs_fsync_range; the file name from struct file (BTF)',
    },
    {
      name: 'tracepoint',
      requires: [
        { kind: 'tracepoint', name: 'syscalls/sys_enter_read' },
        { kind: 'tracepoint', name: 'syscalls/sys_exit_read' },
        { kind: 'tracepoint', name: 'syscalls/sys_enter_openat' },
        { kind: 'tracepoint', name: 'syscalls/sys_exit_fdatasync' },
      ],
      description:
        'read/pread64, write/pwrite64, openat, fsync/fdatasync syscall tracepoints: the descriptor instead of a file name (the path for opens)',
    },
  ],
  defaultVariant: 'tracepoint',
  // Per-thread entries live only while a call runs; @slow is bounded by maxOps plus the few new records.
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 8 * 1024 * 1024, stopGraceMs: 2_000 },
  manifestUrl: import.meta.url,
  leadingArgs: (p) => [positionalInt('thresholdMs', p.thresholdMs), positionalInt('maxOps', p.maxOps)],
  parse: (stdout, params, ctx) => ({ result: parseFsslower(stdout, params, ctx) }),
  result: FsslowerResult,
});
