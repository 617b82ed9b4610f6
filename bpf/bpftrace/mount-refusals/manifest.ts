import { z } from 'zod';
import { defineBpftraceTool } from '../define.ts';
import { parseMountRefusals } from './parser.ts';
import { MountRefusalsResult } from './result.ts';

export const MountRefusalsParams = z.object({}).strict();

export const mountRefusals = defineBpftraceTool({
  name: 'mount-refusals',
  description: "Counts mounts refused with ENOSPC by mount namespace, process and cgroup: the kernel's fs.mount-max check (count_mounts) where kprobes exist, failing mount(2) and move_mount(2) elsewhere.",
  params: MountRefusalsParams,
  // BTF: the namespace is read through struct mnt_namespace (kprobe) or the task's nsproxy (tracepoint).
  requires: [{ kind: 'btf' }],
  variants: [
    {
      name: 'kprobe',
      requires: [{ kind: 'kprobe', function: 'count_mounts' }],
      description: "kprobe and kretprobe on count_mounts, the kernel's fs.mount-max check: a refusal here is the limit, by definition",
    },
    {
      name: 'tracepoint',
      requires: [
        { kind: 'tracepoint', name: 'syscalls/sys_exit_mount' },
        { kind: 'tracepoint', name: 'syscalls/sys_exit_move_mount' },
      ],
      description: 'mount(2) and move_mount(2) returning -ENOSPC: the limit in practice, not proven',
    },
  ],
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 5_000, maxOutputBytes: 8 * 1024 * 1024, stopGraceMs: 2_000 },
  manifestUrl: import.meta.url,
  parse: (stdout) => ({ result: parseMountRefusals(stdout) }),
  result: MountRefusalsResult,
});
