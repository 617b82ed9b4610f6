import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses "500ms", "10s", "2m", "1h", "7d" or a bare number of seconds into milliseconds; undefined when malformed. */
export function parseDurationMs(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text > 0 ? Math.round(text * 1000) : undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const value = Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS];
  return value > 0 ? Math.round(value) : undefined;
}

export function formatDurationMs(ms: number): string {
  if (ms >= 86_400_000 && ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A duration as users write it ("10s", "1500ms", "2m", or seconds as a number), bounded, as milliseconds. */
export function durationMs(opts: { min: number; max: number }) {
  return z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const ms = parseDurationMs(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration such as "10s", "500ms" or "2m"' });
        return z.NEVER;
      }
      if (ms < opts.min || ms > opts.max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be between ${formatDurationMs(opts.min)} and ${formatDurationMs(opts.max)}`,
        });
        return z.NEVER;
      }
      return ms;
    });
}

/**
 * A span for people to read, to the second: "2m 10s", "45s", "1h 5m", "850ms". Unlike formatDurationMs it never
 * falls back to a large number of one unit ("130s"), so waits and deadlines read naturally in reasons.
 */
export function describeDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  let s = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60]] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join(' ');
}
