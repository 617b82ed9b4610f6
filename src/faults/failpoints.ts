import { appendFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Failpoints: named places in the code where the fault-injection suite (test/faults/) makes a part die, so a crash
 * lands exactly "after the capture jobs are queued" or "as the investigation finishes" instead of wherever a timer
 * happens to fire. They are off unless TRACEHOUND_FAILPOINTS is set, e.g.
 *
 *   TRACEHOUND_FAILPOINTS=orchestrator.after-dispatch=kill-once,orchestrator.before-finish=kill
 *
 * Counted actions (kill-once, kill-twice) must survive the restart they cause, so their counts live in files under
 * TRACEHOUND_FAILPOINTS_STATE (a directory): a part restarted by its supervisor with the same environment dies the
 * given number of times in all, which is how "killed once" and "killed twice" are told apart.
 */

/** Every point the code may name; one home, so a misspelt point is a type error in code and a refusal in the env. */
export const FailpointName = z.enum(['orchestrator.after-dispatch', 'orchestrator.before-finish']);
export type FailpointName = z.infer<typeof FailpointName>;

/** kill: SIGKILL every time the point is reached; kill-once / kill-twice: only the first one / two times in all. */
export const FailpointAction = z.enum(['kill', 'kill-once', 'kill-twice']);
export type FailpointAction = z.infer<typeof FailpointAction>;

const TIMES: Record<FailpointAction, number> = { kill: Number.POSITIVE_INFINITY, 'kill-once': 1, 'kill-twice': 2 };

export const FAILPOINTS_ENV = 'TRACEHOUND_FAILPOINTS';
export const FAILPOINTS_STATE_ENV = 'TRACEHOUND_FAILPOINTS_STATE';

export type FailpointPlan = ReadonlyMap<FailpointName, FailpointAction>;

export class FailpointSpecError extends Error {}

const Entry = z.tuple([FailpointName, FailpointAction]);

/** Parses `point=action,point=action`; every bad entry is named, so a typo cannot silently disable a fault. */
export function parseFailpoints(spec: string, stateDir: string | undefined): FailpointPlan {
  const plan = new Map<FailpointName, FailpointAction>();
  const problems: string[] = [];
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const parsed = Entry.safeParse(raw.split('='));
    if (!parsed.success) {
      problems.push(`"${raw}": expected <point>=<action> with point one of ${FailpointName.options.join(', ')} and action one of ${FailpointAction.options.join(', ')}`);
      continue;
    }
    const [name, action] = parsed.data;
    if (plan.has(name)) problems.push(`"${raw}": ${name} is given twice`);
    if (Number.isFinite(TIMES[action]) && !stateDir) problems.push(`"${raw}": ${action} counts across restarts and needs ${FAILPOINTS_STATE_ENV}`);
    plan.set(name, action);
  }
  if (problems.length > 0) throw new FailpointSpecError(`${FAILPOINTS_ENV}: ${problems.join('; ')}`);
  return plan;
}

/** Whether the point should fire now; a counted action records this firing before it happens (the process dies next). */
export function shouldFire(name: FailpointName, action: FailpointAction, stateDir: string | undefined): boolean {
  const times = TIMES[action];
  if (!Number.isFinite(times)) return true;
  // parseFailpoints guarantees a state directory for counted actions.
  const dir = stateDir!;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.fired`);
  // One byte per firing: appends are atomic enough for one process, and the size is the count.
  const fired = (() => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  })();
  if (fired >= times) return false;
  appendFileSync(file, 'x');
  return true;
}

/** Read once: without the variable every failpoint() is a single comparison. */
const stateDir = process.env[FAILPOINTS_STATE_ENV] || undefined;
const plan: FailpointPlan | null = process.env[FAILPOINTS_ENV] ? parseFailpoints(process.env[FAILPOINTS_ENV], stateDir) : null;

/** Dies here if the fault-injection suite asked for it; does nothing otherwise. */
export function failpoint(name: FailpointName): void {
  if (plan === null) return;
  const action = plan.get(name);
  if (action === undefined || !shouldFire(name, action, stateDir)) return;
  // SIGKILL to ourselves is delivered before kill() returns: nothing after this line runs, as in a real crash.
  process.kill(process.pid, 'SIGKILL');
}
