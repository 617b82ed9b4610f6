import { z } from 'zod';
import { BiolatencyResult, BlockOp } from '../../bpf/bpftrace/biolatency/result.ts';
import { OomkillResult } from '../../bpf/bpftrace/oomkill/result.ts';
import { RunqlatResult } from '../../bpf/bpftrace/runqlat/result.ts';
import { SyscountResult } from '../../bpf/bpftrace/syscount/result.ts';
import { TcpretransResult } from '../../bpf/bpftrace/tcpretrans/result.ts';
import { type Investigation, type Step, StepStatus } from '../core/investigation.ts';

/**
 * The few figures of a health sweep that are worth comparing from one firing to the next, per node.
 * A figure is null when its step did not run, failed, or left a result that does not parse: "not measured",
 * which must never be read as zero.
 */

/** One syscall+errno pair, summed over every process and cgroup that failed that way. */
export const FailingSyscall = z.object({
  syscall: z.string(),
  errno: z.string(),
  count: z.number().int().nonnegative(),
});
export type FailingSyscall = z.infer<typeof FailingSyscall>;

export const SyscallFigures = z.object({
  step: z.string(),
  /** Most failures first, then by syscall and errno. */
  failing: z.array(FailingSyscall),
});
export type SyscallFigures = z.infer<typeof SyscallFigures>;

export const RunqFigures = z.object({
  step: z.string(),
  /** Waits recorded; p50/p99 are null when there were none (measured, but nothing to estimate from). */
  count: z.number().int().nonnegative(),
  p50: z.number().nullable(),
  p99: z.number().nullable(),
});
export type RunqFigures = z.infer<typeof RunqFigures>;

export const BlockIoFigure = z.object({
  /** Name under /dev, or "major:minor" when the device had no name when the result was read. */
  device: z.string(),
  op: BlockOp,
  count: z.number().int().nonnegative(),
  p99: z.number().nullable(),
  errors: z.number().int().nonnegative(),
});
export type BlockIoFigure = z.infer<typeof BlockIoFigure>;

export const BlockIoFigures = z.object({
  step: z.string(),
  /** One entry per device and op that saw a request; by device, then op. */
  devices: z.array(BlockIoFigure),
});
export type BlockIoFigures = z.infer<typeof BlockIoFigures>;

export const CountFigure = z.object({ step: z.string(), total: z.number().int().nonnegative() });
export type CountFigure = z.infer<typeof CountFigure>;

/** A step of the node that gave no figure, and why: what "not measured" rests on. */
export const UnmeasuredStep = z.object({
  step: z.string(),
  tool: z.string(),
  status: StepStatus,
  reason: z.string().nullable(),
});
export type UnmeasuredStep = z.infer<typeof UnmeasuredStep>;

export const NodeFigures = z.object({
  node: z.string(),
  syscalls: SyscallFigures.nullable(),
  runq: RunqFigures.nullable(),
  io: BlockIoFigures.nullable(),
  retrans: CountFigure.nullable(),
  oomKills: CountFigure.nullable(),
  unmeasured: z.array(UnmeasuredStep),
});
export type NodeFigures = z.infer<typeof NodeFigures>;

/** Whether the node gave any figure at all in this sweep. */
export const answered = (f: NodeFigures | undefined): f is NodeFigures =>
  f !== undefined && (f.syscalls !== null || f.runq !== null || f.io !== null || f.retrans !== null || f.oomKills !== null);

export const blockIoKey = (d: { device: string; op: string }) => `${d.device} ${d.op}`;

type Figure = 'syscalls' | 'runq' | 'io' | 'retrans' | 'oomKills';

/** Which tool gives each figure, and how its result (parsed with the tool's own schema) becomes the figure. */
const READERS: { [F in Figure]: { tool: string; read: (result: unknown, step: string) => NonNullable<NodeFigures[F]> | null } } = {
  syscalls: { tool: 'syscount', read: (res, step) => ifParsed(SyscountResult, res, (r) => ({ step, failing: sumFailures(r) })) },
  runq: {
    tool: 'runqlat',
    read: (res, step) => ifParsed(RunqlatResult, res, (r) => ({ step, count: r.all.count, p50: r.all.p50, p99: r.all.p99 })),
  },
  io: { tool: 'biolatency', read: (res, step) => ifParsed(BiolatencyResult, res, (r) => ({ step, devices: blockIo(r) })) },
  retrans: { tool: 'tcpretrans', read: (res, step) => ifParsed(TcpretransResult, res, (r) => ({ step, total: r.total })) },
  oomKills: { tool: 'oomkill', read: (res, step) => ifParsed(OomkillResult, res, (r) => ({ step, total: r.total })) },
};

const FIGURES = Object.keys(READERS) as Figure[];
const figureOf = (tool: string): Figure | undefined => FIGURES.find((f) => READERS[f].tool === tool);

function ifParsed<S extends z.ZodType, R>(schema: S, value: unknown, then: (parsed: z.output<S>) => R): R | null {
  const parsed = schema.safeParse(value);
  return parsed.success ? then(parsed.data) : null;
}

function sumFailures(r: SyscountResult): FailingSyscall[] {
  const pairs = new Map<string, FailingSyscall>();
  for (const row of r.rows) {
    const key = `${row.syscall} ${row.errno}`;
    const pair = pairs.get(key) ?? { syscall: row.syscall, errno: row.errno, count: 0 };
    pair.count += row.count;
    pairs.set(key, pair);
  }
  return [...pairs.values()].sort(
    (a, b) => b.count - a.count || a.syscall.localeCompare(b.syscall) || a.errno.localeCompare(b.errno),
  );
}

const OP_ORDER = BlockOp.options;

function blockIo(r: BiolatencyResult): BlockIoFigure[] {
  const byKey = new Map<string, BlockIoFigure>();
  for (const row of r.rows) {
    const device = row.device ?? `${row.major}:${row.minor}`;
    const fig: BlockIoFigure = { device, op: row.op, count: row.count, p99: row.p99, errors: row.errors };
    const same = byKey.get(blockIoKey(fig));
    // Two device numbers under one name (a device replaced during the capture): keep the worse tail.
    byKey.set(
      blockIoKey(fig),
      same === undefined
        ? fig
        : {
            device,
            op: row.op,
            count: same.count + fig.count,
            p99: same.p99 === null ? fig.p99 : fig.p99 === null ? same.p99 : Math.max(same.p99, fig.p99),
            errors: same.errors + fig.errors,
          },
    );
  }
  return [...byKey.values()].sort((a, b) => a.device.localeCompare(b.device) || OP_ORDER.indexOf(a.op) - OP_ORDER.indexOf(b.op));
}

const emptyFigures = (node: string): NodeFigures => ({
  node,
  syscalls: null,
  runq: null,
  io: null,
  retrans: null,
  oomKills: null,
  unmeasured: [],
});

/**
 * The figures of one sweep, per node, by node name. Steps are matched by tool, not step id, so that a renamed
 * step keeps its history; the first usable step of a tool on a node wins. Steps without a node and tools that
 * are not part of a sweep are ignored.
 */
export function sweepFigures(inv: Pick<Investigation, 'steps'>): Map<string, NodeFigures> {
  const byNode = new Map<string, NodeFigures>();
  for (const step of inv.steps) {
    const figure = figureOf(step.tool);
    if (step.node === null || figure === undefined) continue;
    const figures = byNode.get(step.node) ?? emptyFigures(step.node);
    byNode.set(step.node, figures);
    if (!measure(figures, figure, step)) {
      const reason = step.status === 'succeeded' ? `the result does not match the ${step.tool} result schema` : (step.reason ?? null);
      figures.unmeasured.push({ step: step.id, tool: step.tool, status: step.status, reason });
    }
  }
  // A failed step followed by a usable one of the same tool on the same node: the figure was measured after all.
  for (const f of byNode.values()) {
    f.unmeasured = f.unmeasured.filter((u) => {
      const figure = figureOf(u.tool);
      return figure === undefined || f[figure] === null;
    });
  }
  return new Map([...byNode.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** Fills `figure` from the step unless it is already there; false when the step gives nothing usable. */
function measure<F extends Figure>(figures: NodeFigures, figure: F, step: Step): boolean {
  if (figures[figure] !== null) return true;
  const value = step.status === 'succeeded' ? READERS[figure].read(step.result, step.id) : null;
  if (value === null) return false;
  figures[figure] = value;
  return true;
}
