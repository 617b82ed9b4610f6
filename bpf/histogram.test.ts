import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import {
  Histogram,
  HistogramSummary,
  maxBucket,
  mean,
  mergeHistograms,
  percentile,
  readHist,
  readHistMap,
  summarize,
  totalCount,
  type HistBucket,
} from './histogram.ts';

/**
 * Recorded 2026-11-25 on this project's test machine (Debian 12, kernel 6.18.44, bpftrace v0.17.0) with
 * `timeout -s INT 5 bpftrace -f json -e 'BEGIN { @neg = hist(-5); @neg = hist(0); @neg = hist(1); @neg = hist(3);
 * @neg = hist(2); @neg = hist(1000); @k[1, "x"] = hist(5); @k[2, "y"] = hist(100000); @k[2, "y"] = hist(0);
 * @big = hist(1073741824); @big = hist(4294967296); @big = hist(8589934592); @lin = lhist(5, 0, 10, 2);
 * @lin = lhist(50, 0, 10, 2); @lin = lhist(-1, 0, 10, 2); exit(); } END { @complete = 1; }'`.
 * Shapes worth noting: the "< 0" bucket has no "min", lhist's overflow bucket no "max", empty buckets appear only
 * between used ones, and the log2 bucket for values >= 2^31 (all of them share it) prints as min -2^31, max 0.
 */
const SHAPES = [
  '{"type": "attached_probes", "data": {"probes": 2}}',
  '',
  '',
  '{"type": "hist", "data": {"@big": [{"min": 1073741824, "max": 2147483647, "count": 1}, {"min": -2147483648, "max": 0, "count": 2}]}}',
  '{"type": "map", "data": {"@complete": 1}}',
  '{"type": "hist", "data": {"@k": {"1,x": [{"min": 4, "max": 7, "count": 1}], "2,y": [{"min": 0, "max": 0, "count": 1}, {"min": 1, "max": 1, "count": 0}, {"min": 2, "max": 3, "count": 0}, {"min": 4, "max": 7, "count": 0}, {"min": 8, "max": 15, "count": 0}, {"min": 16, "max": 31, "count": 0}, {"min": 32, "max": 63, "count": 0}, {"min": 64, "max": 127, "count": 0}, {"min": 128, "max": 255, "count": 0}, {"min": 256, "max": 511, "count": 0}, {"min": 512, "max": 1023, "count": 0}, {"min": 1024, "max": 2047, "count": 0}, {"min": 2048, "max": 4095, "count": 0}, {"min": 4096, "max": 8191, "count": 0}, {"min": 8192, "max": 16383, "count": 0}, {"min": 16384, "max": 32767, "count": 0}, {"min": 32768, "max": 65535, "count": 0}, {"min": 65536, "max": 131071, "count": 1}]}}}',
  '{"type": "hist", "data": {"@lin": [{"max": -1, "count": 1}, {"min": 0, "max": 1, "count": 0}, {"min": 2, "max": 3, "count": 0}, {"min": 4, "max": 5, "count": 1}, {"min": 6, "max": 7, "count": 0}, {"min": 8, "max": 9, "count": 0}, {"min": 10, "count": 1}]}}',
  '{"type": "hist", "data": {"@neg": [{"max": -1, "count": 1}, {"min": 0, "max": 0, "count": 1}, {"min": 1, "max": 1, "count": 1}, {"min": 2, "max": 3, "count": 2}, {"min": 4, "max": 7, "count": 0}, {"min": 8, "max": 15, "count": 0}, {"min": 16, "max": 31, "count": 0}, {"min": 32, "max": 63, "count": 0}, {"min": 64, "max": 127, "count": 0}, {"min": 128, "max": 255, "count": 0}, {"min": 256, "max": 511, "count": 0}, {"min": 512, "max": 1023, "count": 1}]}}',
].join('\n');

const b = (low: number | null, high: number | null, count: number): HistBucket => ({ low, high, count });
const us = (...buckets: HistBucket[]): Histogram => ({ unit: 'us', buckets });

/** bpftrace's log2 buckets: index 0 holds 0, index 1 holds 1, then [2^k, 2^(k+1) - 1]. */
function log2Hist(values: number[]): Histogram {
  const counts = new Map<number, number>();
  for (const v of values) {
    const low = v === 0 ? 0 : 2 ** Math.floor(Math.log2(v));
    counts.set(low, (counts.get(low) ?? 0) + 1);
  }
  const lows = [...counts.keys()].sort((x, y) => x - y);
  return us(...lows.map((low) => b(low, low === 0 ? 0 : 2 * low - 1, counts.get(low) ?? 0)));
}

describe('reading bpftrace hist output', () => {
  it('reads a keyless log2 histogram with the "< 0" bucket', () => {
    const h = readHist(SHAPES, '@neg', 'us');
    expect(h?.buckets.slice(0, 5)).toEqual([b(null, -1, 1), b(0, 0, 1), b(1, 1, 1), b(2, 3, 2), b(4, 7, 0)]);
    expect(h?.buckets).toHaveLength(12);
    expect(h?.buckets.at(-1)).toEqual(b(512, 1023, 1));
    expect(h && totalCount(h)).toBe(6);
  });

  it('reads keyed histograms under bpftrace\'s joined keys', () => {
    const hists = readHistMap(SHAPES, '@k', 'ns');
    expect(Object.keys(hists)).toEqual(['1,x', '2,y']);
    expect(hists['1,x']).toEqual({ unit: 'ns', buckets: [b(4, 7, 1)] });
    expect(hists['2,y']?.buckets).toHaveLength(18);
    expect(hists['2,y']?.buckets[0]).toEqual(b(0, 0, 1));
    expect(hists['2,y']?.buckets[17]).toEqual(b(65536, 131071, 1));
  });

  it('reads lhist buckets, including the open overflow bucket', () => {
    expect(readHist(SHAPES, '@lin', 'bytes')).toEqual({
      unit: 'bytes',
      buckets: [b(null, -1, 1), b(0, 1, 0), b(2, 3, 0), b(4, 5, 1), b(6, 7, 0), b(8, 9, 0), b(10, null, 1)],
    });
  });

  it("reads bpftrace 0.17's overflowed top log2 bucket as [2^31, ∞)", () => {
    expect(readHist(SHAPES, '@big', 'ns')).toEqual({ unit: 'ns', buckets: [b(2 ** 30, 2 ** 31 - 1, 1), b(2 ** 31, null, 2)] });
  });

  it('treats a map that was not printed as empty', () => {
    expect(readHistMap(SHAPES, '@usecs', 'us')).toEqual({});
    expect(readHist(SHAPES, '@usecs', 'us')).toBeNull();
    expect(readHistMap('', '@usecs', 'us')).toEqual({});
    // A count map of the same name is not a histogram.
    expect(readHist('{"type": "map", "data": {"@usecs": 3}}', '@usecs', 'us')).toBeNull();
  });

  it('takes the last printing of a map', () => {
    const first = '{"type": "hist", "data": {"@h": [{"min": 1, "max": 1, "count": 5}]}}';
    const second = '{"type": "hist", "data": {"@h": [{"min": 2, "max": 3, "count": 7}]}}';
    expect(readHist(`${first}\n${second}\n`, '@h', 'us')).toEqual(us(b(2, 3, 7)));
  });

  it('refuses the wrong form, truncated output and impossible buckets', () => {
    expect(() => readHist(SHAPES, '@k', 'us')).toThrow(/line 6: @k is not a histogram without keys/);
    expect(() => readHistMap(SHAPES, '@neg', 'us')).toThrow(/line 8: @neg is not a keyed histogram/);
    expect(() => readHistMap(SHAPES.slice(0, -30), '@neg', 'us')).toThrow(/line 8 is not JSON/);
    const doc = (buckets: unknown) => JSON.stringify({ type: 'hist', data: { '@h': buckets } });
    expect(() => readHist(doc([{ count: 1 }]), '@h', 'us')).toThrow(/bucket without bounds/);
    expect(() => readHist(doc([{ min: 4, max: 7, count: 1 }, { min: 2, max: 3, count: 1 }]), '@h', 'us')).toThrow(/overlap or are out of order/);
    expect(() => readHist(doc([{ min: 4, max: 7, count: 1 }, { max: -1, count: 1 }]), '@h', 'us')).toThrow(/only the first bucket/);
    expect(() => readHist(doc([{ min: 4, count: 1 }, { min: 8, max: 9, count: 1 }]), '@h', 'us')).toThrow(/only the last bucket/);
    expect(() => readHist(doc([{ min: 4, max: 7, count: -1 }]), '@h', 'us')).toThrow(/not a histogram/);
    expect(() => readHist(doc([{ min: 4, max: 3, count: 1 }]), '@h', 'us')).toThrow(/max < min/);
  });
});

describe('histogram estimates', () => {
  const neg = readHist(SHAPES, '@neg', 'us') ?? us();

  it('interpolates percentiles inside the bucket over [low, high + 1)', () => {
    // 6 values: <0, 0, 1, 2 or 3 (×2), 512..1023.
    expect(percentile(neg, 0.5)).toBe(2); // rank 3 is the value 1, i.e. [1, 2): its top
    expect(percentile(neg, 0.9)).toBeCloseTo(512 + 0.4 * 512, 9); // rank 5.4: 0.4 into [512, 1024)
    expect(percentile(neg, 0.99)).toBeCloseTo(512 + 0.94 * 512, 9);
    expect(percentile(neg, 1)).toBe(1024);
    expect(percentile(us(b(4, 7, 1)), 0.5)).toBe(6);
    expect(percentile(us(b(0, 0, 4)), 0.25)).toBe(0.25);
  });

  it('returns the finite edge of an open bucket', () => {
    expect(percentile(neg, 0.1)).toBe(-1);
    const lin = readHist(SHAPES, '@lin', 'bytes') ?? us();
    expect(percentile(lin, 0.5)).toBe(5);
    expect(percentile(lin, 0.99)).toBe(10);
    const big = readHist(SHAPES, '@big', 'ns') ?? us();
    expect(percentile(big, 0.3)).toBeCloseTo(2 ** 30 * 1.9, 3); // rank 0.9 of the single value in [2^30, 2^31)
    expect(percentile(big, 0.5)).toBe(2 ** 31);
  });

  it('estimates the mean from bucket midpoints', () => {
    // -1 (open bucket's edge) + 0.5 + 1.5 + 2 × 3 + 768.
    expect(mean(neg)).toBeCloseTo(775 / 6, 9);
    expect(mean(us(b(0, 0, 3), b(1, 1, 1)))).toBe((3 * 0.5 + 1.5) / 4);
  });

  it('knows the highest non-empty bucket', () => {
    expect(maxBucket(neg)).toEqual({ low: 512, high: 1023 });
    expect(maxBucket(us(b(2, 3, 1), b(4, 7, 0)))).toEqual({ low: 2, high: 3 });
  });

  it('has no estimates for an empty histogram', () => {
    for (const h of [us(), us(b(4, 7, 0))]) {
      expect(totalCount(h)).toBe(0);
      expect(percentile(h, 0.5)).toBeNull();
      expect(mean(h)).toBeNull();
      expect(maxBucket(h)).toBeNull();
    }
  });

  it('refuses quantiles outside (0, 1]', () => {
    expect(() => percentile(neg, 0)).toThrow(/quantile/);
    expect(() => percentile(neg, 1.5)).toThrow(/quantile/);
    expect(() => percentile(neg, Number.NaN)).toThrow(/quantile/);
  });

  it('stays within the documented error bound of the true quantile', () => {
    // Deterministic pseudo-random latencies spread over six orders of magnitude.
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const values = Array.from({ length: 5000 }, () => Math.floor(Math.exp(next() * 14)));
    const h = log2Hist(values);
    const sorted = [...values].sort((x, y) => x - y);
    for (const q of [0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1]) {
      const truth = sorted[Math.ceil(q * sorted.length) - 1] ?? Number.NaN;
      const estimate = percentile(h, q) ?? Number.NaN;
      const width = truth < 2 ? 1 : 2 ** Math.floor(Math.log2(truth));
      expect(Math.abs(estimate - truth)).toBeLessThanOrEqual(width);
      // exp(x) ≥ 1 for x ≥ 0, so every value is at least 1 and the ratio is defined.
      expect(truth).toBeGreaterThanOrEqual(1);
      expect(estimate / truth).toBeGreaterThan(0.5);
      expect(estimate / truth).toBeLessThanOrEqual(2);
    }
  });
});

describe('merging histograms', () => {
  it('adds equal buckets and keeps the others in order', () => {
    const hists = readHistMap(SHAPES, '@k', 'us');
    const merged = mergeHistograms(Object.values(hists), 'us');
    expect(totalCount(merged)).toBe(3);
    expect(merged.buckets).toHaveLength(18);
    expect(merged.buckets.filter((x) => x.count > 0)).toEqual([b(0, 0, 1), b(4, 7, 1), b(65536, 131071, 1)]);
    expect(mergeHistograms([us(b(8, 15, 2)), us(b(null, -1, 1), b(1, 1, 3)), us(b(8, 15, 5), b(2 ** 31, null, 1))], 'us')).toEqual(
      us(b(null, -1, 1), b(1, 1, 3), b(8, 15, 7), b(2 ** 31, null, 1)),
    );
  });

  it('does not modify its inputs', () => {
    const a = us(b(8, 15, 2));
    mergeHistograms([a, us(b(8, 15, 5))], 'us');
    expect(a).toEqual(us(b(8, 15, 2)));
  });

  it('merges nothing into an empty histogram', () => {
    expect(mergeHistograms([], 'ns')).toEqual({ unit: 'ns', buckets: [] });
  });

  it('refuses different units and bucket layouts', () => {
    expect(() => mergeHistograms([us(b(1, 1, 1)), { unit: 'ns', buckets: [] }], 'us')).toThrow(/in ns into one in us/);
    const lin = readHist(SHAPES, '@lin', 'us') ?? us();
    const neg = readHist(SHAPES, '@neg', 'us') ?? us();
    expect(() => mergeHistograms([lin, neg], 'us')).toThrow(/different bucket layouts/);
    expect(() => mergeHistograms([us(b(10, null, 1)), us(b(16, 31, 1))], 'us')).toThrow(/different bucket layouts/);
  });
});

describe('summaries', () => {
  it('rounds estimates to 0.1 and carries the buckets', () => {
    const neg = readHist(SHAPES, '@neg', 'us') ?? us();
    const s = summarize(neg);
    expect(s).toEqual({
      count: 6,
      p50: 2,
      p90: 716.8,
      p99: 993.3,
      mean: 129.2,
      maxBucket: { low: 512, high: 1023 },
      buckets: neg.buckets,
    });
    expect(s.buckets).not.toBe(neg.buckets);
    expect(HistogramSummary.parse(s)).toEqual(s);
    // 49152.25 rounds half up, as Math.round does.
    expect(summarize(readHistMap(SHAPES, '@k', 'us')['2,y'] ?? us()).mean).toBe(49152.3);
  });

  it('summarizes a recorded run-queue latency histogram', () => {
    const stdout = readFileSync(new URL('./bpftrace/runqlat/fixtures/hogs-cgroup.json', import.meta.url), 'utf8');
    const h = readHistMap(stdout, '@usecs', 'us')['424'] ?? us();
    // 798 delays; ranks 399 and 718.2 fall among the 549 in [2048, 4095], rank 790.02 among the 14 in [8192, 16383].
    expect(summarize(h)).toMatchObject({ count: 798, p50: 2861.2, p90: 4052, p99: 14640.3, mean: 2985.4, maxBucket: { low: 32768, high: 65535 } });
    expect(Histogram.parse(h)).toEqual(h);
  });

  it('is all nulls for an empty histogram', () => {
    expect(summarize(us())).toEqual({ count: 0, p50: null, p90: null, p99: null, mean: null, maxBucket: null, buckets: [] });
  });
});
