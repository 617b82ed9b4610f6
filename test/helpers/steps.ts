import { expect } from 'vitest';
import type { Investigation, Step } from '../../src/core/investigation.ts';

/*
 * Assertions on an investigation's steps that print each step's status and reason when they fail: an e2e run in CI
 * leaves only its log, and "expected 'failed' to be 'succeeded'" says nothing about why the capture failed.
 */

/** One line per step: "errors on node-b: failed — node node-b stopped heartbeating…". */
export function describeSteps(steps: readonly Step[]): string {
  if (steps.length === 0) return 'no steps';
  return steps.map(describeStep).join('\n');
}

function describeStep(s: Step): string {
  return `${s.id}${s.node === null ? '' : ` on ${s.node}`}: ${s.status} — ${s.reason ?? 'no reason'}`;
}

/**
 * The one step `id` (on `node`, for a step that fans out over nodes), asserted to exist exactly once and to match
 * `expected`; the failure message names its status and reason, or the steps there are when it is missing.
 */
export function expectStep(inv: Pick<Investigation, 'steps'>, id: string, expected: Record<string, unknown>, node?: string): Step {
  const found = inv.steps.filter((s) => s.id === id && (node === undefined || s.node === node));
  const name = `step ${id}${node === undefined ? '' : ` on ${node}`}`;
  expect(found, `${name} should be there once; steps:\n${describeSteps(inv.steps)}`).toHaveLength(1);
  const step = found[0]!;
  expect(step, `${name}: ${step.status} — ${step.reason ?? 'no reason'}`).toMatchObject(expected);
  return step;
}

/**
 * Step `id`'s status on each node it ran on, asserted equal to `expected` (node → status, every node named: a node
 * too many or missing fails too); the failure message gives each node's reason.
 */
export function expectStepOnNodes(inv: Pick<Investigation, 'steps'>, id: string, expected: Record<string, Step['status']>): void {
  const steps = inv.steps.filter((s) => s.id === id);
  const actual = Object.fromEntries(steps.map((s) => [s.node ?? '(no node)', s.status]));
  expect(steps.length, `step ${id} ran twice on one node:\n${describeSteps(steps)}`).toBe(Object.keys(actual).length);
  expect(actual, `step ${id}:\n${describeSteps(steps)}`).toEqual(expected);
}
