import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { cgroupArgs, positionalInt } from '../bpftrace-output.ts';
import type { BpftraceTool, KernelScope } from '../tool.ts';
import { MOUNT_SYSCALLS } from './flags.ts';
import { parseMountsnoop } from './parser.ts';

export const MountsnoopParams = z
  .object({
    /** How many of the most frequent paths the result keeps (the kernel counts every distinct path). */
    maxPaths: z.number().int().min(1).max(500).default(20),
  })
  .strict();
export type MountsnoopParams = z.output<typeof MountsnoopParams>;

export const MountSyscall = z.enum(MOUNT_SYSCALLS);

/** One row per (syscall, flags, result, process, cgroup): how often that call was made that way. */
export const MountCallRow = z.object({
  syscall: MountSyscall,
  /** Flag names in bit order (MS_BIND, MS_REC, MNT_DETACH, ...); unknown bits as one hex remainder. */
  flags: z.array(z.string()),
  /** Errno name of a failed call; null when the call succeeded. */
  errno: z.string().nullable(),
  pid: z.number().int(),
  comm: z.string(),
  cgroupId: z.number().int(),
  cgroup: z.string().nullable(),
  count: z.number().int(),
});
export type MountCallRow = z.infer<typeof MountCallRow>;

/** A path given to a call: the mount point (target) or what is mounted or cloned there (source). */
export const MountPathRow = z.object({
  syscall: MountSyscall,
  role: z.enum(['target', 'source']),
  path: z.string(),
  errno: z.string().nullable(),
  count: z.number().int(),
});
export type MountPathRow = z.infer<typeof MountPathRow>;

export const MountsnoopSummary = z.object({
  calls: z.number().int(),
  failed: z.number().int(),
  failuresByErrno: z.array(z.object({ errno: z.string(), count: z.number().int() })),
  /** Successful non-recursive binds: mount(MS_BIND) without MS_REC or MS_REMOUNT, open_tree(OPEN_TREE_CLONE). */
  binds: z.number().int(),
  /** Successful recursive binds: mount(MS_BIND|MS_REC) without MS_REMOUNT, open_tree(OPEN_TREE_CLONE|AT_RECURSIVE). */
  recursiveBinds: z.number().int(),
  /** Successful umount2 calls, and those with MNT_DETACH among them. */
  unmounts: z.number().int(),
  lazyUnmounts: z.number().int(),
});
export type MountsnoopSummary = z.infer<typeof MountsnoopSummary>;

export const MountsnoopResult = z.object({
  rows: z.array(MountCallRow),
  /** The `maxPaths` most frequent (syscall, role, path, errno) combinations. */
  paths: z.array(MountPathRow),
  /** How many distinct combinations the kernel counted, before the cut to `maxPaths`. */
  distinctPaths: z.number().int(),
  summary: MountsnoopSummary,
});
export type MountsnoopResult = z.infer<typeof MountsnoopResult>;

export const mountsnoop: BpftraceTool<typeof MountsnoopParams, MountsnoopResult> = {
  kind: 'bpftrace',
  name: 'mountsnoop',
  description: 'Counts mount(2), umount2(2), open_tree(2) and move_mount(2) calls by flags, result, process and cgroup, with the paths they name.',
  params: MountsnoopParams,
  requires: [
    { kind: 'bpftrace' },
    ...['mount', 'umount', 'open_tree', 'move_mount'].flatMap((call) => [
      { kind: 'tracepoint' as const, name: `syscalls/sys_enter_${call}` },
      { kind: 'tracepoint' as const, name: `syscalls/sys_exit_${call}` },
    ]),
  ],
  limits: { minDurationMs: 1_000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 },
  // Paths up to 199 bytes (bpftrace's default of 63 cuts kubelet and containerd mount points short).
  env: { BPFTRACE_STRLEN: '200' },
  programFile: fileURLToPath(new URL('./program.bt', import.meta.url)),
  args(_params: MountsnoopParams, scope: KernelScope): string[] {
    const cgroups = cgroupArgs(scope);
    return [cgroups.first, positionalInt('pid', scope.pid), ...cgroups.extra];
  },
  parse(stdout, params, ctx) {
    return { result: parseMountsnoop(stdout, params.maxPaths, ctx), extraArtifacts: [] };
  },
  result: MountsnoopResult,
};
