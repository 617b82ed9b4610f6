import { isTerminal, type Investigation } from '../../src/core/investigation.ts';
import type { RecordArtifact } from '../../src/core/record-artifacts.ts';
import { mergeArtifacts } from '../../src/core/record-artifacts.ts';
import type { RecordVersion } from '../../src/records/investigation-records.ts';
import { failpoint } from '../../src/faults/failpoints.ts';
import { investigationSeconds, investigationsFinished } from '../../src/metrics.ts';
import { compareSweep, type SweepComparison } from '../../src/sweeps/compare.ts';
import { closeOpenSteps, endedInvestigation, withComparison, type RunPlan } from './ending.ts';
import { REPORT_STORE_WAIT_MS, reportNote, storeFailure, storeReports } from './reports.ts';
import { now, tell, type RunContext } from './run-context.ts';

/**
 * The report part of a run: summarizes, compares a sweep with its earlier runs, stores the report files and records
 * the final state, then counts and notifies. False when the record had ended meanwhile (reaped, or ended by another
 * orchestrator), which is then left as it is. `known`: the record as the run last wrote it, when it did.
 */
export async function finish(ctx: RunContext, inv: Investigation, run: RunPlan | null, known: RecordVersion | null = null): Promise<boolean> {
  failpoint('orchestrator.before-finish');
  const finishedAt = now();
  const sweeps = run?.playbook.comparesWithSweeps ? await healthSweeps(ctx, inv) : [];
  const done = endedInvestigation(inv, run, finishedAt, sweeps);
  const comparison = done.schedule && done.status === 'succeeded' ? await compareWithPreviousRuns(ctx, done) : null;
  if (comparison && done.summary) done.summary = withComparison(done.summary, comparison, done.steps);

  // The report is stored before the record ends when storage answers in time, so an ended record lists it. When
  // storage fails or hangs, the result is recorded anyway (Redis has it), saying so, and a retry stores the report.
  let stored: RecordArtifact[] | null = null;
  let failure: unknown = null;
  try {
    stored = await storeReports(ctx.store, done, comparison ?? undefined, REPORT_STORE_WAIT_MS);
  } catch (err) {
    failure = err;
    ctx.log.warn({ err, investigation: done.id }, 'could not store the report; recording the result and retrying');
  }
  const ended = await ctx.records.updateFrom(known, done.id, (cur) =>
    isTerminal(cur.status)
      ? null
      : {
          ...cur,
          status: done.status,
          ...(done.reason ? { reason: done.reason } : {}),
          finishedAt,
          steps: closeOpenSteps(cur.steps, done, finishedAt),
          ...(done.summary ? { summary: done.summary } : {}),
          artifacts: stored ? mergeArtifacts(cur.artifacts, stored) : cur.artifacts,
          ...(stored ? {} : { note: reportNote(finishedAt, storeFailure(failure)) }),
        },
  );
  if (!ended) {
    ctx.log.info({ investigation: done.id }, 'investigation had already ended; left as it was');
    return false;
  }
  if (!stored) {
    await ctx.reports.request({ investigationId: done.id, since: finishedAt, ...(comparison ? { comparison } : {}) }).catch((err: unknown) =>
      ctx.log.error({ err, investigation: done.id }, 'could not queue storing the report'),
    );
  }
  ctx.log.info({ investigation: done.id, status: done.status, headline: done.summary?.headline }, 'investigation finished');
  investigationsFinished.inc({ playbook: done.playbook, status: done.status });
  investigationSeconds.observe({ playbook: done.playbook }, (Date.parse(finishedAt) - Date.parse(done.createdAt)) / 1000);
  await tell(ctx, done.id, 'final');
  return true;
}

/** The health sweeps a playbook compares with (triage); none when they cannot be read, which the summary then omits. */
async function healthSweeps(ctx: RunContext, inv: Investigation): Promise<Investigation[]> {
  if (!ctx.hooks.healthSweeps) return [];
  try {
    return await ctx.hooks.healthSweeps(inv);
  } catch (err) {
    ctx.log.warn({ err, investigation: inv.id }, 'could not read the health sweeps to compare with');
    return [];
  }
}

/** Scheduled runs (sweeps) are compared per node with the schedule's earlier runs; null when there is nothing to compare. */
async function compareWithPreviousRuns(ctx: RunContext, inv: Investigation): Promise<SweepComparison | null> {
  if (!ctx.hooks.previousRuns) return null;
  try {
    const previous = await ctx.hooks.previousRuns(inv);
    return compareSweep(inv, previous);
  } catch (err) {
    ctx.log.warn({ err, investigation: inv.id }, 'could not compare with previous runs');
    return null;
  }
}
