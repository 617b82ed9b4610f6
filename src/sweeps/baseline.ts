import { z } from 'zod';
import { BlockOp } from '../../bpf/bpftrace/biolatency/result.ts';
import { type NodeFigures, answered, blockIoKey } from './figures.ts';

/**
 * What a node's figures usually are, from the previous sweeps of a schedule: the median of each figure over the
 * sweeps that measured it. A median, not a mean, so that one bad sweep does not move the baseline.
 */

export const Median = z.object({
  value: z.number(),
  /** How many previous sweeps measured the figure (the median is over these). */
  sweeps: z.number().int().positive(),
});
export type Median = z.infer<typeof Median>;

export const BlockIoBaseline = z.object({
  device: z.string(),
  op: BlockOp,
  /** Over the sweeps in which the device and op saw requests; null when none did. */
  p99: Median.nullable(),
  /** Over every sweep that measured block I/O: a device without requests had no errors. */
  errors: Median,
});
export type BlockIoBaseline = z.infer<typeof BlockIoBaseline>;

export const SyscallBaseline = z.object({
  syscall: z.string(),
  errno: z.string(),
  /** Over every sweep that measured failing syscalls, 0 where the pair did not fail. */
  count: Median,
  /** In how many of those sweeps the pair failed at least once. */
  seenIn: z.number().int().positive(),
});
export type SyscallBaseline = z.infer<typeof SyscallBaseline>;

export const NodeBaseline = z.object({
  /** How many previous sweeps the node answered (gave at least one figure). */
  answered: z.number().int().nonnegative(),
  /** Sweeps that measured failing syscalls; pairs that never failed in them are absent. */
  syscalls: z.object({ sweeps: z.number().int().positive(), failing: z.array(SyscallBaseline) }).nullable(),
  runqP99: Median.nullable(),
  io: z.object({ sweeps: z.number().int().positive(), devices: z.array(BlockIoBaseline) }).nullable(),
  retrans: Median.nullable(),
  oomKills: Median.nullable(),
});
export type NodeBaseline = z.infer<typeof NodeBaseline>;

export function median(values: readonly number[]): number | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const hi = sorted[mid];
  if (hi === undefined) return undefined;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? hi) + hi) / 2;
}

function medianOf(values: readonly (number | null | undefined)[]): Median | null {
  const measured = values.filter((v): v is number => v !== null && v !== undefined);
  const value = median(measured);
  return value === undefined ? null : { value, sweeps: measured.length };
}

const OP_ORDER = BlockOp.options;

/** `previous`: the node's figures in each previous sweep, undefined where the node was not in that sweep. */
export function nodeBaseline(previous: readonly (NodeFigures | undefined)[]): NodeBaseline {
  const present = previous.filter((p): p is NodeFigures => p !== undefined);
  const withSyscalls = present.flatMap((p) => (p.syscalls ? [p.syscalls] : []));
  const withIo = present.flatMap((p) => (p.io ? [p.io] : []));
  return {
    answered: present.filter(answered).length,
    syscalls: withSyscalls.length === 0 ? null : { sweeps: withSyscalls.length, failing: syscallBaselines(withSyscalls) },
    runqP99: medianOf(present.map((p) => p.runq?.p99)),
    io: withIo.length === 0 ? null : { sweeps: withIo.length, devices: blockIoBaselines(withIo) },
    retrans: medianOf(present.map((p) => p.retrans?.total)),
    oomKills: medianOf(present.map((p) => p.oomKills?.total)),
  };
}

function syscallBaselines(sweeps: readonly NonNullable<NodeFigures['syscalls']>[]): SyscallBaseline[] {
  const pairs = new Map<string, { syscall: string; errno: string }>();
  for (const s of sweeps) for (const f of s.failing) if (f.count > 0) pairs.set(`${f.syscall} ${f.errno}`, f);
  return [...pairs.values()]
    .map(({ syscall, errno }): SyscallBaseline => {
      const counts = sweeps.map((s) => s.failing.find((f) => f.syscall === syscall && f.errno === errno)?.count ?? 0);
      return { syscall, errno, count: medianOf(counts) ?? { value: 0, sweeps: sweeps.length }, seenIn: counts.filter((c) => c > 0).length };
    })
    .sort((a, b) => a.syscall.localeCompare(b.syscall) || a.errno.localeCompare(b.errno));
}

function blockIoBaselines(sweeps: readonly NonNullable<NodeFigures['io']>[]): BlockIoBaseline[] {
  const keys = new Map<string, { device: string; op: BlockOp }>();
  for (const s of sweeps) for (const d of s.devices) keys.set(blockIoKey(d), { device: d.device, op: d.op });
  return [...keys.values()]
    .map(({ device, op }): BlockIoBaseline => {
      const rows = sweeps.map((s) => s.devices.find((d) => d.device === device && d.op === op));
      return {
        device,
        op,
        p99: medianOf(rows.map((r) => r?.p99)),
        errors: medianOf(rows.map((r) => r?.errors ?? 0)) ?? { value: 0, sweeps: sweeps.length },
      };
    })
    .sort((a, b) => a.device.localeCompare(b.device) || OP_ORDER.indexOf(a.op) - OP_ORDER.indexOf(b.op));
}
