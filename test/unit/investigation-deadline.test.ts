import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { describeDurationMs } from '../../src/core/duration.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { compilePlaybook } from '../../src/playbooks/compile.ts';
import { planContext } from '../../src/playbooks/plan-context.ts';
import type { Playbook, ToolCatalogue } from '../../src/playbooks/playbook.ts';
import { parsePlaybookParams } from '../../src/playbooks/select.ts';
import { loadPlaybooks } from '../../src/playbooks/load.ts';
import { CAPTURE_SLACK_MS, DISPATCH_ALLOWANCE_MS, FINISH_ALLOWANCE_MS, deadlineReason, investigationBudgetMs } from '../../workers/orchestrator/deadline.ts';

const tools: ToolCatalogue = {
  syscount: { requires: [{ kind: 'bpftrace' }], params: z.object({}).strict(), limits: { minDurationMs: 1000, maxDurationMs: 120_000, defaultDurationMs: 10_000 } },
  funcgraph: { requires: [{ kind: 'tracer', name: 'function_graph' }], params: z.object({}).strict(), limits: { minDurationMs: 1000, maxDurationMs: 30_000, defaultDurationMs: 5000 } },
  collector: { requires: [], params: z.object({}).strict(), limits: { minDurationMs: 0, maxDurationMs: 0, defaultDurationMs: 0 } },
};

const YAML = `
name: boxes
title: Time boxes
description: test playbook
symptoms: ['boxes']
params:
  duration: { type: duration, default: 5s, min: 1s, max: 30s }
steps:
  - id: first
    tool: syscount
    title: from a parameter
    duration: { expr: params.duration }
  - id: later
    tool: syscount
    title: from a result not known at the start
    duration: { expr: 'steps.first.result.seconds' }
  - id: graph
    tool: funcgraph
    title: main action shorter than its fallback
    duration: 2s
    fallback: { tool: syscount, title: fallback, duration: 7s }
  - id: context
    tool: collector
    title: an instant reader
`;

describe('time boxes and deadlines', () => {
  const p = compilePlaybook(YAML, 'boxes.yaml', tools);
  const ctx = planContext({ duration: 5000 }, {}, []);

  it('bounds each step by its longest time box: parameter, unknown result (the tool\'s longest), fallback, none', () => {
    expect(p.steps.map((s) => s.timeBoxMs(ctx))).toEqual([5000, 120_000, 7000, 0]);
  });

  it('adds the capture slack and the dispatch allowance per step, and the finish allowance once', () => {
    const perStep = CAPTURE_SLACK_MS + DISPATCH_ALLOWANCE_MS;
    expect(investigationBudgetMs(p, { duration: 5000 }, {})).toBe(5000 + 120_000 + 7000 + 0 + 4 * perStep + FINISH_ALLOWANCE_MS);
  });

  describe('of the shipped playbooks', () => {
    let playbooks: Playbook[] = [];
    beforeAll(async () => {
      playbooks = await loadPlaybooks();
    });
    const budget = (name: string, params: Record<string, unknown>) => {
      const pb = playbooks.find((x) => x.name === name)!;
      return investigationBudgetMs(pb, parsePlaybookParams(pb, params), {});
    };

    it('gives a 10 s CPU profile 2m 10s, and grows with the requested duration', () => {
      expect(describeDurationMs(budget('cpu-profile', { duration: '10s' }))).toBe('2m 10s');
      expect(budget('cpu-profile', { duration: '60s' }) - budget('cpu-profile', { duration: '10s' })).toBe(50_000);
    });

    it('counts every step of enospc, since which conditions hold is not known at the start', () => {
      // errors 10s, mount-calls 3s, refusals 5s, mount-path 5s; the three collectors none: seven steps in all.
      expect(budget('enospc', { duration: '10s' })).toBe(23_000 + 7 * (CAPTURE_SLACK_MS + DISPATCH_ALLOWANCE_MS) + FINISH_ALLOWANCE_MS);
    });
  });

  it('says why a record past its deadline ended, and where it stood', () => {
    const base: Investigation = {
      id: 'inv_x', status: 'running', playbook: 'cpu-profile', params: {}, createdAt: '2025-01-01T10:00:00.000Z', startedAt: '2025-01-01T10:00:00.000Z',
      deadline: '2025-01-01T10:02:10.000Z', requestedBy: 'token:t', steps: [], artifacts: [],
    };
    expect(deadlineReason({ ...base, steps: [{ id: 'cpu', tool: 'profile', node: 'node-17', status: 'running', artifacts: [] }] })).toBe(
      'no result within its deadline of 2m 10s (still waiting for step cpu on node-17)',
    );
    expect(deadlineReason({ ...base, steps: [{ id: 'cpu', tool: 'profile', node: 'node-17', status: 'succeeded', artifacts: [] }] })).toBe(
      'no result within its deadline of 2m 10s (stopped after step cpu)',
    );
    expect(deadlineReason(base)).toBe('no result within its deadline of 2m 10s (before its first step)');
  });

  it('reaps every REAPER_INTERVAL (5s unless set), and names the variable when it is not a sane interval', () => {
    expect(loadConfig({}).REAPER_INTERVAL).toBe(5000);
    expect(loadConfig({ REAPER_INTERVAL: '1s' }).REAPER_INTERVAL).toBe(1000);
    expect(() => loadConfig({ REAPER_INTERVAL: '10ms' })).toThrow(ConfigError);
    expect(() => loadConfig({ REAPER_INTERVAL: '10ms' })).toThrow(/REAPER_INTERVAL: at least 100ms/);
    expect(() => loadConfig({ REAPER_INTERVAL: 'soon' })).toThrow(/REAPER_INTERVAL:/);
  });

  it.each([
    [850, '850ms'],
    [45_000, '45s'],
    [120_000, '2m'],
    [130_000, '2m 10s'],
    [3_900_000, '1h 5m'],
    [90_061_000, '1d 1h 1m 1s'],
  ])('reads %i ms as "%s"', (ms, text) => expect(describeDurationMs(ms)).toBe(text));
});
