import { describe, expect, it } from 'vitest';
import { durationMs, formatDurationMs, parseDurationMs } from '../../src/core/duration.ts';

describe('durations', () => {
  it.each([
    ['10s', 10_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1.5s', 1500],
    ['30', 30_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    [5, 5000],
  ] as const)('parses %s', (input, ms) => expect(parseDurationMs(input)).toBe(ms));

  it.each(['', 's', '10y', '1w', '-1s', '0s', '1e3s', '10 s', 'ten', Number.NaN, 0])('rejects %s', (input) => {
    expect(parseDurationMs(input as string)).toBeUndefined();
  });

  it('bounds the parsed value and says so', () => {
    const d = durationMs({ min: 1000, max: 120_000 });
    expect(d.parse('10s')).toBe(10_000);
    const r = d.safeParse('3m');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('must be between 1s and 2m');
    expect(d.safeParse('nope').error?.issues[0]?.message).toMatch(/expected a duration/);
  });

  it('formats back the way people write them', () => {
    expect([60_000, 10_000, 1500, 3_600_000, 7_200_000, 86_400_000, 5_400_000].map(formatDurationMs)).toEqual(['1m', '10s', '1500ms', '1h', '2h', '1d', '90m']);
  });
});
