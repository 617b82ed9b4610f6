import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import type { Investigation } from '../../src/core/investigation.ts';
import { deadlineOf } from '../helpers/parts.ts';

/**
 * What each fault test saw — fault, outcome, time to end — appended as JSON lines to TRACEHOUND_FAULT_RESULTS
 * (default $TMPDIR/tracehound-faults.jsonl) and printed as a table after each file, for the issue's closing note.
 * Rows are written whether the test passed or not: a failing fault is exactly what the table must show.
 */
export const FAULT_RESULTS = process.env.TRACEHOUND_FAULT_RESULTS ?? join(tmpdir(), 'tracehound-faults.jsonl');

export interface FaultRow {
  file: string;
  fault: string;
  /** Final state and the reason or what followed, in a few words. */
  outcome: string;
  /** From the investigation's creation (or the fault, where none is involved) to its end. */
  endMs: number | null;
  /** The record's deadline, measured the same way; null when the record has none or none applies. */
  deadlineMs: number | null;
  test: 'pass' | 'fail' | 'skip';
  error?: string;
  at: string;
}

export interface FaultObservation {
  /** The investigation the fault hit reached its end. */
  ended(inv: Investigation, extra?: string): void;
  /** A fault without an investigation (e.g. /readyz): what happened and how long it took. */
  outcome(text: string, endMs: number | null): void;
  /** Adds to the outcome (e.g. "artifacts stored 4.1 s after recovery"). */
  note(text: string): void;
}

/** `logs` gives what the parts printed lately: shown with a failed test, whose message alone rarely says why. */
export function faultLog(file: string, logs: () => string = () => ''): { begin(fault: string): FaultObservation; printTable(): void } {
  const rows: FaultRow[] = [];
  return {
    begin(fault) {
      const row: FaultRow = { file, fault, outcome: 'did not end', endMs: null, deadlineMs: null, test: 'fail', at: new Date().toISOString() };
      const notes: string[] = [];
      onTestFinished(({ task }) => {
        const state = task.result?.state;
        row.test = state === 'pass' ? 'pass' : state === 'skip' ? 'skip' : 'fail';
        const err = task.result?.errors?.[0];
        if (err) row.error = String(err.message).split('\n')[0]!.slice(0, 300);
        if (row.test === 'fail') console.log(`--- ${fault}: what the parts printed ---\n${logs()}`);
        if (notes.length) row.outcome = `${row.outcome}; ${notes.join('; ')}`;
        rows.push(row);
        appendFileSync(FAULT_RESULTS, `${JSON.stringify(row)}\n`);
      });
      return {
        ended(inv, extra) {
          const created = Date.parse(inv.createdAt);
          row.endMs = inv.finishedAt ? Date.parse(inv.finishedAt) - created : null;
          const d = deadlineOf(inv);
          row.deadlineMs = d.fromRecord ? d.at - created : null;
          row.outcome = `${inv.status}${inv.reason ? `: ${inv.reason.slice(0, 160)}` : ''}${extra ? `; ${extra}` : ''}`;
        },
        outcome(text, endMs) {
          row.outcome = text;
          row.endMs = endMs;
        },
        note(text) {
          notes.push(text);
        },
      };
    },
    printTable() {
      console.log(formatTable(rows));
    },
  };
}

const secs = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);

/** fault → outcome → time to end, as a Markdown table. */
export function formatTable(rows: readonly FaultRow[]): string {
  const lines = ['| fault | outcome | time to end | deadline | test |', '| --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    const test = r.test === 'fail' && r.error ? `FAIL: ${r.error}` : r.test;
    lines.push(`| ${r.fault} | ${r.outcome.replaceAll('|', '\\|')} | ${secs(r.endMs)} | ${secs(r.deadlineMs)} | ${test.replaceAll('|', '\\|')} |`);
  }
  return lines.join('\n');
}
