import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { formatDurationMs, parseDurationMs } from '../core/duration.ts';
import { PlaybookName } from '../core/investigation.ts';
import { Target } from '../core/target.ts';
import { NotifyUrl } from '../notify/targets.ts';

/** A schedule's name, also the :name of its route. Unlike a playbook's, it may start with a digit ("2am-sweep"). */
export const SCHEDULE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const ScheduleName = z.string().regex(SCHEDULE_NAME, 'expected a name such as "nightly-sweep"');

/** Where a schedule reports: a Slack incoming webhook; by default only when a run found a problem or a change. */
export const ScheduleNotify = z
  .object({
    slackWebhookUrl: NotifyUrl,
    when: z.enum(['always', 'problems']).default('problems'),
  })
  .strict();

const Every = z.union([z.string(), z.number().int().positive()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'expected an interval such as "15m" or "1h"' });
    return z.NEVER;
  }
  return ms;
});

/** `POST /v1/schedules` body; `cron` (5 or 6 fields, optional `timezone`) or `every`, not both. */
export const ScheduleRequest = z
  .object({
    name: ScheduleName,
    cron: z.string().min(9).max(120).optional(),
    timezone: z.string().max(64).optional(),
    every: Every.optional(),
    playbook: PlaybookName,
    target: Target.optional(),
    params: z.record(z.string(), z.unknown()).default({}),
    notify: ScheduleNotify.optional(),
  })
  .strict()
  .refine((s) => (s.cron === undefined) !== (s.every === undefined), { message: 'give either cron or every', path: ['cron'] })
  .refine((s) => s.timezone === undefined || s.cron !== undefined, { message: 'timezone applies to cron schedules only', path: ['timezone'] });
export type ScheduleRequest = z.infer<typeof ScheduleRequest>;

export const Schedule = z.object({
  name: ScheduleName,
  cron: z.string().optional(),
  timezone: z.string().optional(),
  /** Milliseconds. */
  every: z.number().int().positive().optional(),
  playbook: z.string(),
  target: Target.optional(),
  params: z.record(z.string(), z.unknown()),
  notify: ScheduleNotify.optional(),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Schedule = z.infer<typeof Schedule>;

/**
 * Checks a cron expression and that its firings are at least `minIntervalMs` apart (sampled over the next
 * firings): a sweep every second would keep BPF attached to the fleet all the time. Returns a message, or null.
 */
export function checkCadence(s: { cron?: string | undefined; timezone?: string | undefined; every?: number | undefined }, minIntervalMs: number): string | null {
  if (s.every !== undefined) {
    return s.every < minIntervalMs ? `every must be at least ${formatDurationMs(minIntervalMs)} on this server` : null;
  }
  if (s.cron === undefined) return 'give either cron or every';
  let times: number[];
  try {
    const it = CronExpressionParser.parse(s.cron, { ...(s.timezone ? { tz: s.timezone } : {}), currentDate: new Date(Date.UTC(2026, 0, 1)) });
    times = Array.from({ length: 20 }, () => it.next().getTime());
  } catch (err) {
    return `not a valid cron expression: ${(err as Error).message}`;
  }
  for (let i = 1; i < times.length; i++) {
    if (times[i]! - times[i - 1]! < minIntervalMs) return `fires more often than every ${formatDurationMs(minIntervalMs)}, the minimum on this server`;
  }
  return null;
}
