import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Capabilities } from '../../src/core/capabilities.ts';
import type { Investigation, Step } from '../../src/core/investigation.ts';
import { compilePlaybook } from '../../src/playbooks/compile.ts';
import { planContext } from '../../src/playbooks/plan-context.ts';
import type { ToolCatalogue } from '../../src/playbooks/playbook.ts';
import type { CaptureOutcome } from '../../src/queue/jobs.ts';
import { captureJobId, planStep, unplacedEntry, withEntries } from '../../workers/orchestrator/dispatch-plan.ts';
import { closeOpenSteps, endedInvestigation, outcomeOfSteps } from '../../workers/orchestrator/ending.ts';
import { stepEntry } from '../../workers/orchestrator/step-entry.ts';
import { foldStepReturns } from '../../workers/orchestrator/step-results.ts';

/**
 * The orchestrator's pure parts, without Redis: planning a step over its nodes (dispatch), folding what the captures
 * returned into the record (collect), and how a run ends and is summarized (finish).
 */
const tools: ToolCatalogue = {
  syscount: { requires: [{ kind: 'bpftrace' }], params: z.object({ errno: z.string().optional() }).strict(), limits: { minDurationMs: 1000, maxDurationMs: 120_000, defaultDurationMs: 10_000 } },
  funcgraph: {
    requires: [{ kind: 'tracer', name: 'function_graph' }],
    params: z.object({ function: z.string() }).strict(),
    limits: { minDurationMs: 1000, maxDurationMs: 30_000, defaultDurationMs: 5000 },
  },
};
const playbook = compilePlaybook(
  `
name: parts
title: Parts
description: test playbook
symptoms: ['parts']
params:
  duration: { type: duration, default: 2s, min: 1s, max: 30s }
steps:
  - { id: errors, tool: syscount, title: failing syscalls, duration: { expr: params.duration }, params: { errno: ENOSPC } }
  - id: graph
    tool: funcgraph
    title: mount path
    duration: 3s
    params: { function: path_mount }
    when: has(steps.errors.result)
    notNeeded: nothing failed
    fallback: { tool: syscount, title: failing syscalls again, duration: 2s }
    expect: { that: 'result.totalCalls > 0', because: 'errors were counted, so path_mount was called' }
findings:
  - when: has(steps.errors.result)
    severity: warning
    title: 'errors seen'
    detail: 'see the counts'
    confidence: { level: high, reason: counted }
    evidence: [errors]
`,
  'parts.yaml',
  tools,
);
const [errors, graph] = playbook.steps as [(typeof playbook.steps)[0], (typeof playbook.steps)[0]];
const caps = (over: Partial<Capabilities> = {}): Capabilities => ({
  kernel: '6.1.0', arch: 'x64', btf: true, tracefs: '/sys/kernel/tracing', tracers: ['nop'], perfEvents: true, kprobes: false, fentry: false, uprobes: false,
  bpftrace: { available: true, version: 'v0.17.0', reason: null }, cgroupV2: '/sys/fs/cgroup', ...over,
});
const AT = '2026-01-02T03:04:05.000Z';
const inv = (over: Partial<Investigation> = {}): Investigation => ({
  id: 'inv_01TEST', status: 'running', playbook: 'parts', params: {}, createdAt: AT, requestedBy: 'token:test', steps: [], artifacts: [], ...over,
});

describe('stepEntry', () => {
  it('is the one shape of an entry: the step, its node, empty artifacts, then what this entry says', () => {
    expect(stepEntry(errors, 'n1', { status: 'running', startedAt: AT })).toEqual({
      id: 'errors', title: 'failing syscalls', tool: 'syscount', node: 'n1', status: 'running', startedAt: AT, artifacts: [],
    });
    expect(stepEntry(graph, null, { status: 'skipped', skip: 'not-needed', reason: 'nothing failed', title: 'other', tool: 'syscount' })).toMatchObject({ title: 'other', tool: 'syscount', node: null });
  });
});

describe('planStep (dispatch, pure)', () => {
  const pctx = planContext({ duration: '2s' }, {}, []);
  it('plans a capture job and a running entry per live node, a failed entry per dead node', () => {
    const plan = planStep({
      investigationId: 'inv_01TEST', target: { cgroup: '/app' }, step: errors, pctx: planContext({ duration: 2000 }, {}, []),
      placements: [{ node: 'a', pods: [] }, { node: 'b', pods: [] }], dead: ['c'],
      capabilities: new Map([['a', caps()], ['b', caps()]]), thumbnails: true, at: AT,
    });
    expect(plan.captures).toEqual(
      ['a', 'b'].map((node) => ({ investigationId: 'inv_01TEST', stepId: 'errors', node, tool: 'syscount', params: { errno: 'ENOSPC' }, durationMs: 2000, thumbnails: true, scope: { cgroup: '/app' } })),
    );
    expect(plan.entries).toEqual([
      { id: 'errors', title: 'failing syscalls', tool: 'syscount', node: 'c', status: 'failed', reason: 'node c has no live agent', finishedAt: AT, artifacts: [] },
      { id: 'errors', title: 'failing syscalls', tool: 'syscount', node: 'a', status: 'running', startedAt: AT, artifacts: [] },
      { id: 'errors', title: 'failing syscalls', tool: 'syscount', node: 'b', status: 'running', startedAt: AT, artifacts: [] },
    ]);
  });

  it('skips a node that lacks what the tool needs, and runs the fallback where there is one, saying why', () => {
    const noBpftrace = caps({ bpftrace: { available: false, version: null, reason: 'not installed' } });
    const skipped = planStep({ investigationId: 'inv_01TEST', target: {}, step: errors, pctx, placements: [{ node: 'a', pods: [] }], dead: [], capabilities: new Map([['a', noBpftrace]]), thumbnails: false, at: AT });
    expect(skipped.captures).toEqual([]);
    expect(skipped.entries).toEqual([expect.objectContaining({ node: 'a', status: 'skipped', skip: 'unsupported', finishedAt: AT, reason: expect.stringMatching(/bpftrace/) })]);

    const withResult = planContext({}, {}, [stepEntry(errors, 'a', { status: 'succeeded', result: { rows: [] } })]);
    const fallback = planStep({ investigationId: 'inv_01TEST', target: {}, step: graph, pctx: withResult, placements: [{ node: 'a', pods: [] }], dead: [], capabilities: new Map([['a', caps()]]), thumbnails: false, at: AT });
    expect(fallback.captures.map((c) => [c.node, c.tool, c.durationMs])).toEqual([['a', 'syscount', 2000]]);
    expect(fallback.entries).toEqual([expect.objectContaining({ id: 'graph', title: 'failing syscalls again', tool: 'syscount', status: 'running', reason: expect.stringMatching(/^fallback to syscount: .*function_graph/) })]);
  });

  it('plans a node whose capabilities are unknown as one the orchestrator knows nothing about', () => {
    const plan = planStep({ investigationId: 'inv_01TEST', target: {}, step: errors, pctx, placements: [{ node: 'a', pods: [] }], dead: [], capabilities: new Map([['a', { kernel: 42 }]]), thumbnails: false, at: AT });
    expect(plan.captures.map((c) => c.node)).toEqual(['a']);
  });

  it('refuses to widen a pod target with no pod on the node to the whole node', () => {
    expect(() =>
      planStep({ investigationId: 'inv_01TEST', target: { pod: 'shop/cart' }, step: errors, pctx, placements: [{ node: 'a', pods: [] }], dead: [], capabilities: new Map(), thumbnails: false, at: AT }),
    ).toThrow(/refusing a node-wide capture/);
  });

  it('plans each node by its own capabilities, however many nodes share a kind', () => {
    const noBpftrace = caps({ bpftrace: { available: false, version: null, reason: 'not installed' } });
    const nodes = ['a', 'b', 'c', 'd', 'e'];
    const kinds = new Map<string, unknown>([['a', noBpftrace], ['b', caps()], ['c', noBpftrace], ['d', caps()], ['e', undefined]]);
    const plan = planStep({ investigationId: 'inv_01TEST', target: {}, step: errors, pctx, placements: nodes.map((node) => ({ node, pods: [] })), dead: [], capabilities: kinds, thumbnails: false, at: AT });
    expect(plan.entries.map((e) => [e.node, e.status])).toEqual([['a', 'skipped'], ['b', 'running'], ['c', 'skipped'], ['d', 'running'], ['e', 'running']]);
    expect(plan.captures.map((c) => c.node)).toEqual(['b', 'd', 'e']);
  });

  it('names each capture job by investigation, step and node, so a re-dispatch is the same job', () => {
    expect(captureJobId('inv_01TEST', 'errors', 'node-17')).toBe('inv_01TEST.errors.node-17');
  });
});

describe('unplacedEntry and withEntries', () => {
  it('records a step that reached no node as skipped (condition) or failed (placement), node null', () => {
    expect(unplacedEntry(graph, { skip: 'not-needed', reason: 'nothing failed' }, AT)).toEqual({
      id: 'graph', title: 'mount path', tool: 'funcgraph', node: null, status: 'skipped', skip: 'not-needed', reason: 'nothing failed', finishedAt: AT, artifacts: [],
    });
    expect(unplacedEntry(errors, { error: 'no node agent is alive' }, AT)).toEqual({
      id: 'errors', title: 'failing syscalls', tool: 'syscount', node: null, status: 'failed', reason: 'no node agent is alive', finishedAt: AT, artifacts: [],
    });
  });

  it('replaces the entries of the same step and node (a resumed run), keeps every other', () => {
    const before: Step[] = [stepEntry(errors, 'a', { status: 'running' }), stepEntry(errors, 'b', { status: 'running' }), stepEntry(graph, 'a', { status: 'succeeded' })];
    const again = [stepEntry(errors, 'a', { status: 'running', startedAt: AT })];
    expect(withEntries(before, again).map((s) => [s.id, s.node, s.startedAt ?? null])).toEqual([['errors', 'b', null], ['graph', 'a', null], ['errors', 'a', AT]]);
  });
});

describe('foldStepReturns (collect, pure)', () => {
  const running = (node: string, over: Partial<Step> = {}) => stepEntry(errors, node, { status: 'running', startedAt: AT, ...over });
  const outcome = (node: string, over: Partial<CaptureOutcome> = {}): CaptureOutcome => ({
    stepId: 'errors', node, status: 'succeeded', startedAt: AT, finishedAt: AT, result: { rows: [] }, artifacts: [], unstored: [], ...over,
  });

  it('ends each running entry as its agent said, or failed with why nothing came back (lost before failed)', () => {
    const cur = inv({ steps: [running('a'), running('b'), running('c'), running('d'), stepEntry(graph, 'a', { status: 'running' })] });
    const raw = { name: 'errors/a/raw.json', key: 'investigations/inv_01TEST/errors/a/raw.json', contentType: 'application/json', size: 3 };
    const next = foldStepReturns(
      cur,
      {
        stepId: 'errors',
        outcomes: new Map([['a', outcome('a', { artifacts: [raw] })], ['b', outcome('b', { status: 'skipped', reason: 'no bpftrace' })]]),
        failures: new Map([['c', 'agent threw'], ['d', 'ignored']]),
        lost: new Map([['d', 'node d stopped heartbeating during the capture (agent gone)']]),
      },
      AT,
      Date.parse(AT),
    );
    expect(next.steps.map((s) => [s.id, s.node, s.status, s.reason ?? null])).toEqual([
      ['errors', 'a', 'succeeded', null],
      ['errors', 'b', 'skipped', 'no bpftrace'],
      ['errors', 'c', 'failed', 'capture job failed: agent threw'],
      ['errors', 'd', 'failed', 'node d stopped heartbeating during the capture (agent gone)'],
      // Another step's entries are not this collect's.
      ['graph', 'a', 'running', null],
    ]);
    expect(next.steps[1]!.skip).toBe('unsupported');
    expect(next.steps[0]!.artifacts).toEqual(['errors/a/raw.json']);
    expect(next.artifacts).toEqual([{ ...raw, url: '/v1/investigations/inv_01TEST/artifacts/errors/a/raw.json' }]);
  });

  it('says "no result returned" when a capture neither returned nor failed', () => {
    const next = foldStepReturns(inv({ steps: [running('a')] }), { stepId: 'errors', outcomes: new Map(), failures: new Map(), lost: new Map() }, AT, 0);
    expect(next.steps[0]).toMatchObject({ status: 'failed', finishedAt: AT, reason: 'capture job failed: no result returned' });
  });

  it("fails a capture that succeeded without what the step expects, with the tool's account, and records the variant", () => {
    const cur = inv({ steps: [stepEntry(graph, 'a', { status: 'running' }), stepEntry(graph, 'b', { status: 'running' })] });
    const pctx = { params: {}, target: {}, steps: {} };
    const got = (node: string, result: unknown): CaptureOutcome => ({ ...outcome(node, { result, variant: 'tracefs' }), stepId: 'graph' });
    const next = foldStepReturns(
      cur,
      {
        stepId: 'graph',
        outcomes: new Map([
          ['a', got('a', { totalCalls: 0, emptyBecause: 'no path_mount call was made in the 2 s window' })],
          ['b', got('b', { totalCalls: 3 })],
        ]),
        failures: new Map(),
        lost: new Map(),
        judge: (result) => graph.judge(result, pctx),
      },
      AT,
      0,
    );
    expect(next.steps[0]).toMatchObject({
      status: 'failed',
      variant: 'tracefs',
      reason: 'errors were counted, so path_mount was called, yet the capture showed none: no path_mount call was made in the 2 s window',
    });
    expect(next.steps[1]).toMatchObject({ status: 'succeeded', variant: 'tracefs' });
    expect(next.steps[1]!.reason).toBeUndefined();
  });

  it('says which outputs are not stored yet, unless they arrived late meanwhile', () => {
    const late = { name: 'errors/a/result.json', key: 'k', contentType: 'application/json', size: 1, url: 'u' };
    const unstored = [{ name: 'errors/a/raw.json', since: AT, reason: 'object storage unreachable' }, { name: 'errors/a/result.json', since: AT, reason: 'object storage unreachable' }];
    const next = foldStepReturns(inv({ steps: [running('a')], artifacts: [late] }), { stepId: 'errors', outcomes: new Map([['a', outcome('a', { unstored })]]), failures: new Map(), lost: new Map() }, AT, Date.parse(AT) + 5000);
    expect(next.steps[0]!.unstored).toEqual([unstored[0]]);
    expect(next.steps[0]!.reason).toBe('raw output not stored: object storage unreachable for 5s');
  });
});

describe('how a run ends (finish, pure)', () => {
  it('succeeds when any step did, else fails with the steps\u2019 reasons', () => {
    expect(outcomeOfSteps([stepEntry(errors, 'a', { status: 'failed', reason: 'x' }), stepEntry(errors, 'b', { status: 'succeeded' })])).toEqual({ status: 'succeeded' });
    expect(outcomeOfSteps([stepEntry(errors, 'a', { status: 'failed', reason: 'x' }), stepEntry(errors, 'b', { status: 'skipped', reason: 'y' })])).toEqual({ status: 'failed', reason: 'x; y' });
    expect(outcomeOfSteps([])).toEqual({ status: 'failed', reason: 'no step succeeded' });
  });

  it('closes the steps still open, saying why', () => {
    const steps = [stepEntry(errors, 'a', { status: 'running', reason: 'fallback to syscount: x' }), stepEntry(errors, 'b', { status: 'succeeded' })];
    expect(closeOpenSteps(steps, { status: 'cancelled' }, AT).map((s) => [s.status, s.reason ?? null])).toEqual([
      ['cancelled', 'fallback to syscount: x; not finished: the investigation was cancelled'],
      ['succeeded', null],
    ]);
    expect(closeOpenSteps(steps, { status: 'failed', reason: 'reaped' }, AT)[0]!.reason).toMatch(/; not finished: reaped$/);
  });

  it('summarizes with the playbook, or (a lost run) with a headline saying why it ended', () => {
    const ran = endedInvestigation(inv({ status: 'succeeded', steps: [stepEntry(errors, 'a', { status: 'succeeded', result: { rows: [] }, artifacts: ['errors/a/result.json'] })] }), { playbook, params: {} }, AT);
    expect(ran.finishedAt).toBe(AT);
    expect(ran.summary?.findings.map((f) => f.title)).toEqual(['errors seen']);
    const lost = endedInvestigation(inv({ status: 'failed', reason: 'orchestrator lost', steps: [stepEntry(errors, 'a', { status: 'running' })] }), null, AT);
    expect(lost.summary).toEqual({ headline: 'Investigation failed: orchestrator lost', findings: [], notes: [] });
    expect(lost.steps[0]!.status).toBe('cancelled');
  });
});
