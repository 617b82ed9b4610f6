import { formatCount, plural } from '../core/format.ts';
import type { Change, ChangeKind, SweepCompareOptions } from './rules.ts';

/** Latencies are recorded in µs; people read 14.6 ms better than 14640.3 µs. */
export function formatMicros(us: number): string {
  const trim = (x: number, digits: number) => String(Number(x.toFixed(digits)));
  if (us < 10) return `${trim(us, 1)} µs`;
  if (Math.round(us) < 1000) return `${Math.round(us)} µs`;
  if (us < 99_950) return `${trim(us / 1000, 1)} ms`;
  if (Math.round(us / 1000) < 1000) return `${Math.round(us / 1000)} ms`;
  return `${trim(us / 1_000_000, 2)} s`;
}

const LATENCY: readonly ChangeKind[] = ['runq-p99', 'io-p99'];
const value = (kind: ChangeKind, v: number | null) => (v === null ? 'unknown' : LATENCY.includes(kind) ? formatMicros(v) : formatCount(v));

/** Rounded down, so that a flag never claims a ratio that was not reached. */
const factorText = (factor: number) => `${Math.floor(factor * 10) / 10}×`;

/** "doubled" for 2× to just under 3×, "rose 4.2×" otherwise, plain "rose" from a baseline of 0. */
export function riseWord(current: number, baseline: number): string {
  if (baseline <= 0) return 'rose';
  const factor = current / baseline;
  return factor >= 2 && factor < 3 ? 'doubled' : `rose ${factorText(factor)}`;
}

/** The figure a change is about, as a sentence starts with it. */
function label(kind: ChangeKind, subject: string | null): string {
  switch (kind) {
    case 'runq-p99':
      return 'Run-queue p99';
    case 'io-p99':
      return `Block I/O p99 of ${subject}`;
    case 'io-errors':
      return `Block I/O errors on ${subject}`;
    case 'syscall-new':
    case 'syscall-growth':
      return `Failing syscall ${subject}`;
    case 'retrans-rise':
      return 'TCP retransmits';
    case 'oom-kills':
      return 'OOM kills';
    default:
      return kind;
  }
}

const from = (c: Change) => `${value(c.kind, c.baseline)} → ${value(c.kind, c.current)}`;

export function changeTitle(c: Change): string {
  const node = c.node ?? '?';
  const cur = c.current ?? 0;
  const base = c.baseline ?? 0;
  switch (c.kind) {
    case 'first-sweep':
      return 'First sweep of this schedule: baseline recorded';
    case 'node-new':
      return `New node in this schedule: ${node}`;
    case 'node-missing':
      return `No figures from ${node} in this sweep`;
    case 'syscall-new':
      return `New failing syscall ${c.subject} on ${node}: ${plural(cur, 'failure')}`;
    case 'io-errors':
      return base === 0
        ? `New block I/O errors on ${c.subject} on ${node}: ${plural(cur, 'error')}`
        : `${label(c.kind, c.subject)} ${riseWord(cur, base)} on ${node}: ${from(c)}`;
    case 'oom-kills':
      return base === 0 ? `OOM kills appeared on ${node}: ${plural(cur, 'kill')}` : `OOM kills ${riseWord(cur, base)} on ${node}: ${from(c)}`;
    case 'back-to-normal': {
      const was = c.recovered;
      if (was === null || was.kind === 'node-missing') return `${node} answers again`;
      if (was.kind === 'syscall-new') return `Failing syscall ${c.subject} stopped on ${node} (was ${plural(was.value ?? 0, 'failure')})`;
      return `${label(was.kind, c.subject)} back to normal on ${node}: ${value(was.kind, c.current)} (was ${value(was.kind, was.value)})`;
    }
    default:
      return `${label(c.kind, c.subject)} ${riseWord(cur, base)} on ${node}: ${from(c)}`;
  }
}

const sweeps = (n: number) => plural(n, 'previous sweep');

export interface DetailContext {
  previousSweeps: number;
  options: SweepCompareOptions;
  /** first-sweep: what was recorded; node-missing: why the node's steps gave nothing (empty when none ran). */
  note: string;
}

/** Why a change was flagged: baseline, current, how many previous sweeps, and the thresholds it crossed. */
export function changeDetail(c: Change, { previousSweeps, options: o, note }: DetailContext): string {
  const node = c.node ?? '?';
  const basis = `median of the ${formatCount(c.baselineSweeps)} of ${sweeps(previousSweeps)} that measured it on ${node}`;
  const factor = c.current !== null && c.baseline ? `, ${factorText(c.current / c.baseline)} the baseline` : '';
  const rule = (floor: string) => `Flagged at ${o.ratio}× the baseline or more and ${floor}.`;
  const figure = () => `Baseline ${value(c.kind, c.baseline)} (${basis}); now ${value(c.kind, c.current)}${factor}.`;
  switch (c.kind) {
    case 'first-sweep':
      return note;
    case 'node-new':
      return `${node} gave figures in this sweep but in none of the ${sweeps(previousSweeps)}; they are its baseline from now on.`;
    case 'node-missing':
      return `${node} gave figures in ${formatCount(c.baselineSweeps)} of the ${sweeps(previousSweeps)} but none in this one${note ? `: ${note}` : ': no step of this sweep ran on it'}.`;
    case 'runq-p99':
      return `${figure()} ${rule(`above ${formatMicros(o.runqFloorUs)}`)}`;
    case 'io-p99':
      return `${figure()} ${rule(`above ${formatMicros(o.ioFloorUs)}`)}`;
    case 'io-errors':
      return `${figure()} ${rule(`${plural(o.ioErrorFloor, 'error')} more`)}`;
    case 'syscall-growth':
      return `${figure()} ${rule(`${plural(o.syscallFloor, 'failure')} more`)}`;
    case 'retrans-rise':
      return `${figure()} ${rule(`${plural(o.retransFloor, 'retransmit')} more`)}`;
    case 'oom-kills':
      return `${figure()} Every OOM kill above the baseline is flagged.`;
    case 'syscall-new': {
      const [syscall, errno] = (c.subject ?? '').split(' ');
      return (
        `${syscall}(2) failed with ${errno} ${plural(c.current ?? 0, 'time')} in this sweep, and in none of the ` +
        `${formatCount(c.baselineSweeps)} of ${sweeps(previousSweeps)} that counted failing syscalls on ${node}.` +
        (c.severity === 'critical' ? ` ${errno} means a resource ran out.` : '')
      );
    }
    case 'back-to-normal': {
      const was = c.recovered;
      if (was === null || was.kind === 'node-missing') return `${node} gave no figures in the previous sweep and gives them again.`;
      return (
        `Flagged in the previous sweep at ${value(was.kind, was.value)} against a baseline of ${value(was.kind, c.baseline)} ` +
        `(median of ${plural(c.baselineSweeps, 'sweep')} before it); now ${value(was.kind, c.current)}, which raises no flag.`
      );
    }
  }
}
