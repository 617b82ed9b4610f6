import { z } from 'zod';
import { positionalInt } from '../../bpftrace-output.ts';
import { defineBpftraceTool } from '../define.ts';
import { parseExt4slower } from './parser.ts';
import { Ext4slowerResult } from './result.ts';

export const Ext4slowerParams = z
  .object({
    /** Report operations at least this slow, in ms; 0 times and lists every one (busy: use a short capture). */
    thresholdMs: z.number().int().min(0).max(600_000).default(10),
    /** How many slow operations the program keeps one by one (then only new slowest ones) and the result lists. */
    maxOps: z.number().int().min(1).max(1_000).default(50),
  })
  .strict();
export type Ext4slowerParams = z.output<typeof Ext4slowerParams>;

export const ext4slower = defineBpftraceTool({
  name: 'ext4slower',
  description: 'ext4 file reads, writes, opens and fsyncs slower than a threshold: process, file name, size and latency.',
  params: Ext4slowerParams,
  // Only kprobes on ext4's own functions can tell ext4 apart: no tracepoint variant.
  variants: [
    {
      name: 'kprobe',
      requires: [
        { kind: 'btf' },
        { kind: 'kprobe', function: 'ext4_file_read_iter' },
        { kind: 'kprobe', function: 'ext4_file_write_iter' },
        { kind: 'kprobe', function: 'ext4_file_open' },
        { kind: 'kprobe', function: 'ext4_sync_file' },
      ],
      description: 'kprobes/kretprobes on ext4_file_read_iter, ext4_file_write_iter, ext4_file_open, ext4_sync_file; the file name from the kiocb or struct file (BTF)',
    },
  ],
  defaultVariant: 'kprobe',
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 8 * 1024 * 1024, stopGraceMs: 2_000 },
  manifestUrl: import.meta.url,
  leadingArgs: (p) => [positionalInt('thresholdMs', p.thresholdMs), positionalInt('maxOps', p.maxOps)],
  parse: (stdout, params, ctx) => ({ result: parseExt4slower(stdout, params, ctx) }),
  result: Ext4slowerResult,
});
