import { z } from 'zod';
import { Severity } from '../core/investigation.ts';
import type { NodeBaseline } from './baseline.ts';
import { type NodeFigures, blockIoKey } from './figures.ts';

export const SweepCompareOptions = z
  .object({
    /** How many times its baseline a figure must reach to be flagged. */
    ratio: z.number().gt(1, 'ratio must be above 1').default(2),
    /** Run-queue p99 must also be above this (µs): doubling from 50 µs to 100 µs is noise. */
    runqFloorUs: z.number().nonnegative().default(1000),
    /** Block I/O p99 must also be above this (µs). */
    ioFloorUs: z.number().nonnegative().default(5000),
    /** A failing syscall+errno pair that failed before must also have grown by at least this many failures. */
    syscallFloor: z.number().int().nonnegative().default(100),
    /** TCP retransmits must also have grown by at least this many. */
    retransFloor: z.number().int().nonnegative().default(10),
    /** Block I/O errors of a device and op must also have grown by at least this many. */
    ioErrorFloor: z.number().int().positive().default(1),
  })
  .strict();
export type SweepCompareOptions = z.output<typeof SweepCompareOptions>;

export const ChangeKind = z.enum([
  'first-sweep',
  'node-new',
  'node-missing',
  'runq-p99',
  'io-p99',
  'io-errors',
  'syscall-new',
  'syscall-growth',
  'retrans-rise',
  'oom-kills',
  'back-to-normal',
]);
export type ChangeKind = z.infer<typeof ChangeKind>;

/** One thing that differs from the schedule's usual on one node. Values in µs for latencies, counts otherwise. */
export const Change = z.object({
  kind: ChangeKind,
  severity: Severity,
  /** null only for first-sweep. */
  node: z.string().nullable(),
  /** "openat ENOSPC" for a syscall+errno pair, "vda write" for a block device and op; null otherwise. */
  subject: z.string().nullable(),
  current: z.number().nullable(),
  /** Median over the previous sweeps that measured the figure (0 for a syscall pair never seen). */
  baseline: z.number().nullable(),
  /** How many previous sweeps the baseline rests on; for node-missing, how many the node answered. */
  baselineSweeps: z.number().int().nonnegative(),
  /** back-to-normal: which flag of the previous sweep cleared, and the value it had then. */
  recovered: z.object({ kind: ChangeKind, value: z.number().nullable() }).nullable(),
  /** Step ids the figures come from. */
  steps: z.array(z.string()),
});
export type Change = z.infer<typeof Change>;

/** Errnos that mean a resource ran out: new failures with them are critical. */
export const RESOURCE_ERRNOS: readonly string[] = ['ENOSPC', 'ENOMEM', 'EMFILE', 'ENFILE', 'EDQUOT'];

export const changeKey = (c: Pick<Change, 'kind' | 'node' | 'subject'>) => `${c.kind}|${c.node ?? ''}|${c.subject ?? ''}`;

const change = (c: Omit<Change, 'recovered'> & { recovered?: Change['recovered'] }): Change => ({ ...c, recovered: c.recovered ?? null });

/** `current` reached `ratio` × baseline and grew by at least `floor`: a baseline of 0 passes the ratio at once. */
const grew = (current: number, baseline: number, ratio: number, floor: number) =>
  current >= ratio * baseline && current - baseline >= floor;

/** `current` reached `ratio` × baseline and is above the absolute floor. */
const slower = (current: number, baseline: number, ratio: number, floor: number) => current >= ratio * baseline && current > floor;

/**
 * What changed in one node's figures against its baseline. A figure is compared only when it was measured now
 * and by at least one previous sweep.
 */
export function figureChanges(cur: NodeFigures, base: NodeBaseline, o: SweepCompareOptions): Change[] {
  const node = cur.node;
  const out: Change[] = [];

  if (cur.runq?.p99 != null && base.runqP99 !== null && slower(cur.runq.p99, base.runqP99.value, o.ratio, o.runqFloorUs)) {
    out.push(
      change({
        kind: 'runq-p99', severity: 'warning', node, subject: null, current: cur.runq.p99,
        baseline: base.runqP99.value, baselineSweeps: base.runqP99.sweeps, steps: [cur.runq.step],
      }),
    );
  }

  if (cur.io !== null && base.io !== null) {
    const io = base.io;
    for (const d of cur.io.devices) {
      const b = io.devices.find((x) => blockIoKey(x) === blockIoKey(d));
      const subject = blockIoKey(d);
      const steps = [cur.io.step];
      if (d.p99 !== null && b?.p99 && slower(d.p99, b.p99.value, o.ratio, o.ioFloorUs)) {
        out.push(
          change({ kind: 'io-p99', severity: 'warning', node, subject, current: d.p99, baseline: b.p99.value, baselineSweeps: b.p99.sweeps, steps }),
        );
      }
      // A device and op without requests in a measured sweep had no errors there.
      const errors = b?.errors ?? { value: 0, sweeps: io.sweeps };
      if (d.errors > 0 && grew(d.errors, errors.value, o.ratio, o.ioErrorFloor)) {
        out.push(
          change({ kind: 'io-errors', severity: 'warning', node, subject, current: d.errors, baseline: errors.value, baselineSweeps: errors.sweeps, steps }),
        );
      }
    }
  }

  if (cur.syscalls !== null && base.syscalls !== null) {
    const sys = base.syscalls;
    for (const f of cur.syscalls.failing) {
      if (f.count === 0) continue;
      const b = sys.failing.find((x) => x.syscall === f.syscall && x.errno === f.errno);
      // Growth of a resource errno is as urgent as its first appearance.
      const severity: Severity = RESOURCE_ERRNOS.includes(f.errno) ? 'critical' : 'warning';
      const common = { severity, node, subject: `${f.syscall} ${f.errno}`, current: f.count, steps: [cur.syscalls.step] };
      if (b === undefined) {
        out.push(change({ ...common, kind: 'syscall-new', baseline: 0, baselineSweeps: sys.sweeps }));
      } else if (grew(f.count, b.count.value, o.ratio, o.syscallFloor)) {
        out.push(change({ ...common, kind: 'syscall-growth', baseline: b.count.value, baselineSweeps: b.count.sweeps }));
      }
    }
  }

  if (cur.retrans !== null && base.retrans !== null && grew(cur.retrans.total, base.retrans.value, o.ratio, o.retransFloor)) {
    out.push(
      change({
        kind: 'retrans-rise', severity: 'warning', node, subject: null, current: cur.retrans.total,
        baseline: base.retrans.value, baselineSweeps: base.retrans.sweeps, steps: [cur.retrans.step],
      }),
    );
  }

  if (cur.oomKills !== null && base.oomKills !== null && cur.oomKills.total > 0 && cur.oomKills.total >= o.ratio * base.oomKills.value) {
    out.push(
      change({
        kind: 'oom-kills', severity: 'critical', node, subject: null, current: cur.oomKills.total,
        baseline: base.oomKills.value, baselineSweeps: base.oomKills.sweeps, steps: [cur.oomKills.step],
      }),
    );
  }
  return out;
}

/** The figure a flag was about, as it is now; undefined when not measured now (then it cannot be called normal). */
export function currentValue(kind: ChangeKind, subject: string | null, cur: NodeFigures | undefined): number | undefined {
  switch (kind) {
    case 'runq-p99':
      return cur?.runq?.p99 ?? undefined;
    case 'io-p99':
      return cur?.io?.devices.find((d) => blockIoKey(d) === subject)?.p99 ?? undefined;
    case 'io-errors':
      return cur?.io ? (cur.io.devices.find((d) => blockIoKey(d) === subject)?.errors ?? 0) : undefined;
    case 'syscall-new':
    case 'syscall-growth':
      return cur?.syscalls ? (cur.syscalls.failing.find((f) => `${f.syscall} ${f.errno}` === subject)?.count ?? 0) : undefined;
    case 'retrans-rise':
      return cur?.retrans?.total;
    case 'oom-kills':
      return cur?.oomKills?.total;
    default:
      return undefined;
  }
}

/** The step a figure comes from, for evidence. */
export function figureStep(kind: ChangeKind, cur: NodeFigures | undefined): string | undefined {
  switch (kind) {
    case 'runq-p99':
      return cur?.runq?.step;
    case 'io-p99':
    case 'io-errors':
      return cur?.io?.step;
    case 'syscall-new':
    case 'syscall-growth':
      return cur?.syscalls?.step;
    case 'retrans-rise':
      return cur?.retrans?.step;
    case 'oom-kills':
      return cur?.oomKills?.step;
    default:
      return undefined;
  }
}
