import { describe, expect, it } from 'vitest';
import type { Step } from '../../src/core/investigation.ts';
import { describeSteps, expectStep, expectStepOnNodes } from '../helpers/steps.ts';

const step = (over: Partial<Step>): Step => ({ id: 'errors', tool: 'syscount', node: 'test-node', status: 'succeeded', artifacts: [], ...over });
const lost = step({ node: 'node-b', status: 'failed', reason: 'node node-b stopped heartbeating during the capture (agent gone)' });
const inv = { steps: [step({}), lost, step({ id: 'kills', tool: 'oomkill', node: null, status: 'skipped', skip: 'not-needed' })] };

/** The e2e step assertions: as strict as toMatchObject, and a failure names the step's status and reason. */
describe('step assertions', () => {
  it('pass and return the step when it matches', () => {
    expect(expectStep(inv, 'errors', { status: 'failed' }, 'node-b')).toBe(lost);
    expect(expectStep(inv, 'kills', { status: 'skipped', skip: 'not-needed' }).tool).toBe('oomkill');
    expectStepOnNodes(inv, 'errors', { 'test-node': 'succeeded', 'node-b': 'failed' });
  });

  it('fail with the status and the reason when it does not', () => {
    expect(() => expectStep(inv, 'errors', { status: 'succeeded' }, 'node-b')).toThrow(
      'step errors on node-b: failed — node node-b stopped heartbeating during the capture (agent gone)',
    );
    expect(() => expectStep(inv, 'kills', { status: 'succeeded' })).toThrow('step kills: skipped — no reason');
    expect(() => expectStepOnNodes(inv, 'errors', { 'test-node': 'succeeded', 'node-b': 'succeeded' })).toThrow(
      'errors on node-b: failed — node node-b stopped heartbeating during the capture (agent gone)',
    );
  });

  it('fail when the step is missing or there more than once, listing the steps there are', () => {
    expect(() => expectStep(inv, 'runq', { status: 'succeeded' })).toThrow(`step runq should be there once; steps:\n${describeSteps(inv.steps)}`);
    // Fanned out over two nodes: without a node it is ambiguous, not "the first one".
    expect(() => expectStep(inv, 'errors', { status: 'succeeded' })).toThrow('step errors should be there once');
    // A node too many or missing fails like a wrong status.
    expect(() => expectStepOnNodes(inv, 'errors', { 'test-node': 'succeeded' })).toThrow();
    expect(() => expectStepOnNodes({ steps: [step({}), step({})] }, 'errors', { 'test-node': 'succeeded' })).toThrow('ran twice on one node');
  });
});
