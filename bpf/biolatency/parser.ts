import { z } from 'zod';
import { readCountMap } from '../bpftrace-output.ts';
import { HistogramSummary, readHistMap, summarize } from '../histogram.ts';
import { type DeviceNamer, splitDev } from './devices.ts';

/** dev,op → hist of device latencies in microseconds; dev,op → count of completions with an error. */
export const MAP_NAME = '@usecs';
export const ERRORS_MAP = '@errors';

/** The program's op codes: the first letter of rwbs (R, W, F, D; anything else is 0). */
const OPS = ['other', 'read', 'write', 'flush', 'discard'] as const;
export const BlockOp = z.enum(OPS);
export type BlockOp = z.infer<typeof BlockOp>;

export const BiolatencyRow = HistogramSummary.extend({
  /** Name under /dev, or null when the device is gone by the time the result is read. */
  device: z.string().nullable(),
  major: z.number().int(),
  minor: z.number().int(),
  op: BlockOp,
  /** Completions of these requests that reported an error (they are in the histogram too). */
  errors: z.number().int().nonnegative(),
});
export type BiolatencyRow = z.infer<typeof BiolatencyRow>;

export const BiolatencyResult = z.object({
  unit: z.literal('us'),
  /** Worst tail first: p99 descending, then count descending, then major, minor and op. */
  rows: z.array(BiolatencyRow),
  totalRequests: z.number().int().nonnegative(),
  totalErrors: z.number().int().nonnegative(),
});
export type BiolatencyResult = z.infer<typeof BiolatencyResult>;

const KEY = /^(\d+),(\d+)$/;

export function parseDevOpKey(mapName: string, key: string): { major: number; minor: number; op: BlockOp } {
  const m = KEY.exec(key);
  const op = m === null ? undefined : OPS[Number(m[2])];
  if (m === null || op === undefined) throw new Error(`unexpected ${mapName} key ${JSON.stringify(key)}: expected "dev,op" with op 0-${OPS.length - 1}`);
  return { ...splitDev(Number(m[1])), op };
}

function byTailThenCount(a: BiolatencyRow, b: BiolatencyRow): number {
  return (
    (b.p99 ?? -1) - (a.p99 ?? -1) ||
    b.count - a.count ||
    a.major - b.major ||
    a.minor - b.minor ||
    OPS.indexOf(a.op) - OPS.indexOf(b.op)
  );
}

/** `deviceName` is injected so that parsing stays pure: the manifest passes a sysfs reader. */
export function parseBiolatency(stdout: string, deviceName: DeviceNamer): BiolatencyResult {
  const errors = new Map<string, number>();
  for (const [key, n] of Object.entries(readCountMap(stdout, ERRORS_MAP))) {
    parseDevOpKey(ERRORS_MAP, key);
    errors.set(key, n);
  }
  const rows = Object.entries(readHistMap(stdout, MAP_NAME, 'us')).map(([key, h]): BiolatencyRow => {
    const { major, minor, op } = parseDevOpKey(MAP_NAME, key);
    return { device: deviceName(major, minor), major, minor, op, errors: errors.get(key) ?? 0, ...summarize(h) };
  });
  rows.sort(byTailThenCount);
  return {
    unit: 'us',
    rows,
    totalRequests: rows.reduce((sum, r) => sum + r.count, 0),
    totalErrors: rows.reduce((sum, r) => sum + r.errors, 0),
  };
}
