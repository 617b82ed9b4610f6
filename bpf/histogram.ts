import { z } from 'zod';

/**
 * Histograms as bpftrace's `hist()` (log2) and `lhist()` (linear) print them with `-f json`, and the few estimates
 * findings need from them.
 *
 * A bucket keeps bpftrace's inclusive integer bounds. The tools record floored integers (ns / 1000), so a
 * recorded value v stands for the real interval [v, v + 1): every estimate below treats a bucket as the continuous
 * interval [low, high + 1).
 */

export const HistUnit = z.enum(['ns', 'us', 'ms', 's', 'bytes']);
export type HistUnit = z.infer<typeof HistUnit>;

/** `low` null: bpftrace's "< 0" bucket. `high` null: no upper bound (lhist overflow, log2 saturation). */
export const HistBucket = z.object({
  low: z.number().int().nullable(),
  high: z.number().int().nullable(),
  count: z.number().int().nonnegative(),
});
export type HistBucket = z.infer<typeof HistBucket>;

/** Buckets ascend and do not overlap; empty buckets may be absent (bpftrace prints none outside the used range). */
export const Histogram = z.object({ unit: HistUnit, buckets: z.array(HistBucket) });
export type Histogram = z.infer<typeof Histogram>;

export const BucketBounds = z.object({ low: z.number().int().nullable(), high: z.number().int().nullable() });
export type BucketBounds = z.infer<typeof BucketBounds>;

/** What a tool result carries per histogram; estimates are in the histogram's unit, null when it is empty. */
export const HistogramSummary = z.object({
  count: z.number().int().nonnegative(),
  p50: z.number().nullable(),
  p90: z.number().nullable(),
  p99: z.number().nullable(),
  mean: z.number().nullable(),
  /** The highest non-empty bucket: the slowest values seen lie within it. */
  maxBucket: BucketBounds.nullable(),
  buckets: z.array(HistBucket),
});
export type HistogramSummary = z.infer<typeof HistogramSummary>;

// ---- reading bpftrace output ----

const HistDoc = z.object({ type: z.literal('hist'), data: z.record(z.string(), z.unknown()) });
const RawBucket = z.object({
  min: z.number().int().optional(),
  max: z.number().int().optional(),
  count: z.number().int().nonnegative(),
});
const RawBuckets = z.array(RawBucket);
const RawKeyed = z.record(z.string(), RawBuckets);

/** bpftrace 0.17 saturates log2 buckets at [2^31, ∞) and prints that bucket's bounds through an int overflow. */
const OVERFLOWED_MIN = -2147483648;
const SATURATED_LOW = 2 ** 31;

function toBucket(raw: z.infer<typeof RawBucket>, where: string): HistBucket {
  if (raw.min === OVERFLOWED_MIN && raw.max === 0) return { low: SATURATED_LOW, high: null, count: raw.count };
  if (raw.min === undefined && raw.max === undefined) throw new Error(`${where}: bucket without bounds`);
  return { low: raw.min ?? null, high: raw.max ?? null, count: raw.count };
}

function toHistogram(raw: z.infer<typeof RawBuckets>, unit: HistUnit, where: string): Histogram {
  const buckets = raw.map((b) => toBucket(b, where));
  checkOrder(buckets, where);
  return { unit, buckets };
}

function checkOrder(buckets: HistBucket[], where: string): void {
  buckets.forEach((b, i) => {
    if (b.low !== null && b.high !== null && b.high < b.low) throw new Error(`${where}: bucket ${i} has max < min`);
    if (i > 0 && b.low === null) throw new Error(`${where}: only the first bucket may lack a lower bound`);
    if (i < buckets.length - 1 && b.high === null) throw new Error(`${where}: only the last bucket may lack an upper bound`);
    const prev = buckets[i - 1];
    if (prev?.high != null && b.low !== null && b.low <= prev.high) throw new Error(`${where}: buckets overlap or are out of order`);
  });
}

/** The last printing of hist map `mapName` (as bpftrace prints maps again on each print()), or undefined. */
function lastHistValue(stdout: string, mapName: string): { value: unknown; line: number } | undefined {
  let found: { value: unknown; line: number } | undefined;
  stdout.split('\n').forEach((text, i) => {
    if (text.trim() === '') return;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new Error(`bpftrace output line ${i + 1} is not JSON (truncated output?): ${JSON.stringify(text.slice(0, 80))}`);
    }
    const parsed = HistDoc.safeParse(doc);
    if (parsed.success && Object.hasOwn(parsed.data.data, mapName)) found = { value: parsed.data.data[mapName], line: i + 1 };
  });
  return found;
}

/**
 * A keyed hist map (`@m[k1, k2] = hist(v)`) from bpftrace's `-f json` stdout: key as bpftrace prints it (parts
 * joined by ",") → histogram. An empty map prints nothing, so absence is an empty record.
 */
export function readHistMap(stdout: string, mapName: string, unit: HistUnit): Record<string, Histogram> {
  const found = lastHistValue(stdout, mapName);
  if (found === undefined) return {};
  const where = `bpftrace output line ${found.line}: ${mapName}`;
  const keyed = RawKeyed.safeParse(found.value);
  if (!keyed.success) throw new Error(`${where} is not a keyed histogram: ${keyed.error.message}`);
  const out: Record<string, Histogram> = {};
  for (const [key, raw] of Object.entries(keyed.data)) out[key] = toHistogram(raw, unit, `${where}[${key}]`);
  return out;
}

/** A histogram without keys (`@m = hist(v)`); null when bpftrace printed none (no values were recorded). */
export function readHist(stdout: string, mapName: string, unit: HistUnit): Histogram | null {
  const found = lastHistValue(stdout, mapName);
  if (found === undefined) return null;
  const where = `bpftrace output line ${found.line}: ${mapName}`;
  const raw = RawBuckets.safeParse(found.value);
  if (!raw.success) throw new Error(`${where} is not a histogram without keys: ${raw.error.message}`);
  return toHistogram(raw.data, unit, where);
}

// ---- math ----

export function totalCount(h: Histogram): number {
  return h.buckets.reduce((sum, b) => sum + b.count, 0);
}

/**
 * Estimate of the q-quantile (0 < q <= 1) of the recorded values, null for an empty histogram.
 *
 * The bucket holding the sample of rank q·N is found exactly; inside it the samples are assumed spread evenly
 * over [low, high + 1), and the estimate is interpolated linearly. Error bound: the true quantile (nearest rank)
 * lies in the same bucket, so the error is at most the bucket's width. For a log2 bucket [2^k, 2^(k+1)) the width
 * is 2^k, so truth/2 < estimate <= 2·truth: a factor of 2 at worst, whatever the distribution. (Buckets 0 and 1
 * hold one recorded value each: there the error is at most one unit.) In an unbounded bucket the finite edge is
 * returned, a bound rather than an estimate.
 */
export function percentile(h: Histogram, q: number): number | null {
  if (!(q > 0 && q <= 1)) throw new Error(`quantile must be in (0, 1], got ${q}`);
  const total = totalCount(h);
  if (total === 0) return null;
  const rank = q * total;
  let before = 0;
  for (const b of h.buckets) {
    if (b.count > 0 && before + b.count >= rank) {
      if (b.high === null) return b.low;
      if (b.low === null) return b.high;
      const fraction = (rank - before) / b.count;
      return b.low + fraction * (b.high + 1 - b.low);
    }
    before += b.count;
  }
  // rank <= total and the counts sum to total, so the loop always returns.
  throw new Error('percentile: rank beyond the total count');
}

/**
 * Estimate of the mean: each bucket's samples at its midpoint. Off by at most half the widest non-empty bucket; an
 * unbounded bucket counts at its finite edge, which makes the estimate a lower bound (upper for the "< 0" bucket).
 */
export function mean(h: Histogram): number | null {
  const total = totalCount(h);
  if (total === 0) return null;
  let sum = 0;
  for (const b of h.buckets) {
    // Both bounds null cannot come out of the reader; the zero there only keeps the arithmetic total.
    const point = b.low === null ? (b.high ?? 0) : b.high === null ? b.low : (b.low + b.high + 1) / 2;
    sum += b.count * point;
  }
  return sum / total;
}

/** The highest non-empty bucket's bounds, or null for an empty histogram. */
export function maxBucket(h: Histogram): BucketBounds | null {
  for (let i = h.buckets.length - 1; i >= 0; i--) {
    const b = h.buckets[i];
    if (b !== undefined && b.count > 0) return { low: b.low, high: b.high };
  }
  return null;
}

const lowKey = (b: BucketBounds): number => b.low ?? Number.NEGATIVE_INFINITY;
const highKey = (b: BucketBounds): number => b.high ?? Number.POSITIVE_INFINITY;

/**
 * Sum of histograms of the same unit and bucket layout (the same program's map under different keys). Buckets with
 * equal bounds add up; buckets that overlap without being equal (log2 beside linear) cannot be merged and throw.
 */
export function mergeHistograms(hs: readonly Histogram[], unit: HistUnit): Histogram {
  const byBounds = new Map<string, HistBucket>();
  for (const h of hs) {
    if (h.unit !== unit) throw new Error(`cannot merge a histogram in ${h.unit} into one in ${unit}`);
    for (const b of h.buckets) {
      const key = `${b.low ?? '-'}..${b.high ?? '+'}`;
      const seen = byBounds.get(key);
      if (seen === undefined) byBounds.set(key, { ...b });
      else seen.count += b.count;
    }
  }
  const buckets = [...byBounds.values()].sort((a, b) => lowKey(a) - lowKey(b));
  buckets.forEach((b, i) => {
    const prev = buckets[i - 1];
    if (prev !== undefined && lowKey(b) <= highKey(prev)) {
      throw new Error(`cannot merge histograms with different bucket layouts: ${JSON.stringify(prev)} overlaps ${JSON.stringify(b)}`);
    }
  });
  return { unit, buckets };
}

/** Estimates are rounded to 0.1 unit: more digits would claim a precision log2 buckets do not have. */
const round1 = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);

export function summarize(h: Histogram): HistogramSummary {
  return {
    count: totalCount(h),
    p50: round1(percentile(h, 0.5)),
    p90: round1(percentile(h, 0.9)),
    p99: round1(percentile(h, 0.99)),
    mean: round1(mean(h)),
    maxBucket: maxBucket(h),
    buckets: h.buckets.map((b) => ({ ...b })),
  };
}
