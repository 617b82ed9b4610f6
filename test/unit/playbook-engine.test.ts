import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Capabilities } from '../../src/core/capabilities.ts';
import type { Investigation, Step } from '../../src/core/investigation.ts';
import { compilePlaybook, PlaybookError } from '../../src/playbooks/compile.ts';
import { planContext } from '../../src/playbooks/plan-context.ts';
import type { ToolCatalogue } from '../../src/playbooks/playbook.ts';
import { loadPlaybooks } from '../../src/playbooks/load.ts';

const tools: ToolCatalogue = {
  syscount: { requires: [{ kind: 'bpftrace' }], params: z.object({ errno: z.string().optional() }).strict(), limits: { minDurationMs: 1000, maxDurationMs: 120_000, defaultDurationMs: 10_000 } },
  funcgraph: {
    requires: [{ kind: 'tracer', name: 'function_graph' }],
    params: z.object({ function: z.string().regex(/^[a-z_]+$/), depth: z.number().int().min(1).max(10).default(3) }).strict(),
    limits: { minDurationMs: 1000, maxDurationMs: 30_000, defaultDurationMs: 5000 },
  },
  'mount-namespaces': { requires: [], params: z.object({ pids: z.array(z.number().int()).max(64).optional() }).strict(), limits: { minDurationMs: 0, maxDurationMs: 120_000, defaultDurationMs: 0 } },
};

const caps = (over: Partial<Capabilities> = {}): Capabilities => ({
  kernel: '6.18.44', arch: 'x64', btf: true, tracefs: '/sys/kernel/tracing', tracers: ['blk', 'function', 'nop'], perfEvents: true, kprobes: false, fentry: false, uprobes: false,
  bpftrace: { available: true, version: 'v0.17.0', reason: null }, cgroupV2: '/sys/fs/cgroup/unified', ...over,
});

const YAML = `
name: mounts
title: Mount failures
description: test playbook
symptoms: ['mount fails']
params:
  duration: { type: duration, default: 5s, min: 1s, max: 30s }
  depth: { type: integer, default: 3, min: 1, max: 5 }
steps:
  - id: errors
    tool: syscount
    title: failing syscalls
    duration: { expr: params.duration }
    params: { errno: ENOSPC }
  - id: mounts
    tool: mount-namespaces
    title: mounts per namespace
    when: has(steps.errors.result) && steps.errors.result.rows.exists(r, r.syscall == "mount")
    notNeeded: no mount(2) failed
    params:
      pids: { expr: 'steps.errors.result.rows.filter(r, r.syscall == "mount").map(r, r.pid)' }
  - id: graph
    tool: funcgraph
    title: mount path
    duration: 3s
    params: { function: path_mount, depth: { expr: params.depth } }
    fallback:
      tool: syscount
      title: failing syscalls again (no function_graph)
      duration: 2s
findings:
  - when: has(steps.mounts.result)
    forEach: steps.mounts.result.namespaces.filter(n, n.mounts * 10 >= steps.mounts.result.mountMax * 9)
    severity: critical
    title: 'namespace of pid {{ item.pid }} holds {{ item.mounts }} mounts'
    detail: 'limit fs.mount-max={{ steps.mounts.result.mountMax }}'
    confidence:
      level: { expr: 'item.mounts >= steps.mounts.result.mountMax ? "high" : "medium"' }
      reason: '{{ item.mounts >= steps.mounts.result.mountMax ? "at" : "near" }} the limit'
    evidence:
      - { step: mounts, rows: namespaces, where: row.pid == item.pid }
      - { step: mounts, fields: [mountMax] }
      - errors
    next:
      commands: ['findmnt -N {{ string(item.pid) }}', '   ']
      remedy: 'unmount   the leaked mounts of {{ shell("/tmp/a b") }} .'
  - when: has(steps.mounts.result)
    severity: info
    title: '{{ steps.mounts.result.totalNamespaces }} namespaces'
    confidence: { level: high, reason: counted }
  - when: has(steps.mounts.result)
    severity: warning
    title: 'a warning listed after the critical one'
    confidence: { level: low, reason: a hint }
headline:
  - when: has(steps.mounts.result) && steps.mounts.result.namespaces[0].mounts >= steps.mounts.result.mountMax
    text: 'mount(2) fails: mount namespace of pid {{ steps.mounts.result.namespaces[0].pid }} holds {{ steps.mounts.result.namespaces[0].mounts }} mounts, limit fs.mount-max={{ steps.mounts.result.mountMax }}'
`;

const step = (id: string, result: unknown, over: Partial<Step> = {}): Step => ({ id, tool: 't', node: 'n1', status: 'succeeded', result, artifacts: [], ...over });
const inv = (steps: Step[]): Investigation => ({ id: 'inv_x', status: 'running', playbook: 'mounts', target: { node: 'n1' }, params: {}, createdAt: '', requestedBy: 't', steps, artifacts: [] });

describe('playbook engine', () => {
  const p = compilePlaybook(YAML, 'mounts.yaml', tools);
  const params = p.params.parse({ duration: '10s' });

  it('applies parameter defaults and bounds', () => {
    expect(params).toEqual({ duration: 10_000, depth: 3 });
    expect(p.params.safeParse({ duration: '1m' }).error?.issues[0]).toMatchObject({ path: ['duration'], message: 'must be between 1s and 30s' });
    expect(p.params.safeParse({ depth: 9 }).success).toBe(false);
    expect(p.params.safeParse({ other: 1 }).success).toBe(false);
  });

  it('plans a step with computed duration and parameters', () => {
    const ctx = planContext(params, {}, []);
    expect(p.steps[0]!.condition(ctx)).toBeNull();
    expect(p.steps[0]!.plan(ctx, caps())).toEqual({ action: 'run', tool: 'syscount', title: 'failing syscalls', durationMs: 10_000, params: { errno: 'ENOSPC' } });
  });

  it('skips a step whose condition does not hold, saying which', () => {
    const ctx = planContext(params, {}, [step('errors', { rows: [{ syscall: 'write', pid: 7 }] })]);
    expect(p.steps[1]!.condition(ctx)).toEqual({ skip: 'not-needed', reason: 'not needed: no mount(2) failed' });
    const failed = planContext(params, {}, [step('errors', undefined, { status: 'failed', reason: 'x' })]);
    expect(p.steps[1]!.condition(failed)).toEqual({ skip: 'not-needed', reason: 'not needed: no mount(2) failed' });
  });

  it('feeds earlier results into parameters', () => {
    const ctx = planContext(params, {}, [step('errors', { rows: [{ syscall: 'mount', pid: 311 }, { syscall: 'write', pid: 5 }, { syscall: 'mount', pid: 312 }] })]);
    expect(p.steps[1]!.condition(ctx)).toBeNull();
    expect(p.steps[1]!.plan(ctx, caps())).toMatchObject({ action: 'run', tool: 'mount-namespaces', durationMs: 0, params: { pids: [311, 312] } });
  });

  it('runs the fallback when the node lacks a capability, and the step where it has it', () => {
    const ctx = planContext(params, {}, []);
    expect(p.steps[2]!.plan(ctx, caps())).toEqual({
      action: 'run', tool: 'syscount', title: 'failing syscalls again (no function_graph)', durationMs: 2000, params: {},
      fallbackReason: 'tracer function_graph not available on kernel 6.18.44 (available_tracers: blk function nop)',
    });
    expect(p.steps[2]!.plan(ctx, caps({ tracers: ['function_graph', 'nop'] }))).toEqual({
      action: 'run', tool: 'funcgraph', title: 'mount path', durationMs: 3000, params: { function: 'path_mount', depth: 3 },
    });
  });

  it('skips with the reason when neither the step nor its fallback can run', () => {
    const ctx = planContext(params, {}, []);
    const d = p.steps[2]!.plan(ctx, caps({ tracers: ['nop'], bpftrace: { available: false, version: null, reason: 'not installed' } }));
    expect(d).toEqual({ action: 'skip', reason: 'tracer function_graph not available on kernel 6.18.44 (available_tracers: nop); fallback syscount: bpftrace unavailable: not installed' });
  });

  it('turns results into findings in severity order, with their confidence, the rows that support them and the next step', () => {
    const artifacts = ['mounts/n1/raw.json', 'mounts/n1/result.json'];
    const steps = [
      step('errors', { rows: [{ syscall: 'mount', pid: 311 }] }, { artifacts: ['errors/n1/raw.json', 'errors/n1/result.json'] }),
      step('mounts', { mountMax: 100_000, totalNamespaces: 3, namespaces: [{ pid: 311, mounts: 100_000 }, { pid: 1, mounts: 31 }, { pid: 312, mounts: 95_000 }] }, { artifacts }),
    ];
    const s = p.summarize({ investigation: inv(steps), params, steps });
    expect(s.headline).toBe('mount(2) fails: mount namespace of pid 311 holds 100,000 mounts, limit fs.mount-max=100,000');
    expect(s.findings.map((f) => f.severity)).toEqual(['critical', 'critical', 'warning', 'info']);
    expect(s.findings.map((f) => f.confidence)).toEqual([
      { level: 'high', reason: 'at the limit' },
      { level: 'medium', reason: 'near the limit' },
      { level: 'low', reason: 'a hint' },
      { level: 'high', reason: 'counted' },
    ]);
    // Each item's own row (a pointer into result.json), the figures it quotes, and a whole step's artifacts.
    expect(s.findings[1]!.evidence).toEqual([
      { artifact: 'mounts/n1/result.json', rows: ['/namespaces/2'], quote: '{"pid":312,"mounts":95000}' },
      { artifact: 'mounts/n1/result.json', rows: ['/mountMax'], quote: '{"/mountMax":100000}' },
      { artifact: 'errors/n1/raw.json' },
      { artifact: 'errors/n1/result.json' },
    ]);
    expect(s.findings[0]).toEqual({
      severity: 'critical',
      title: 'namespace of pid 311 holds 100,000 mounts',
      detail: 'limit fs.mount-max=100,000',
      confidence: { level: 'high', reason: 'at the limit' },
      evidence: [
        { artifact: 'mounts/n1/result.json', rows: ['/namespaces/0'], quote: '{"pid":311,"mounts":100000}' },
        { artifact: 'mounts/n1/result.json', rows: ['/mountMax'], quote: '{"/mountMax":100000}' },
        { artifact: 'errors/n1/raw.json' },
        { artifact: 'errors/n1/result.json' },
      ],
      // Blank commands are dropped; runs of spaces and a space before punctuation are tidied; quoted as a shell word.
      next: { commands: ['findmnt -N 311'], remedy: "unmount the leaked mounts of '/tmp/a b'." },
    });
    expect(s.notes).toEqual([]);
  });

  it('keeps branches not taken out of the summary, and tells what could not run as notes', () => {
    const steps = [
      step('errors', { rows: [] }),
      step('mounts', undefined, { status: 'skipped', skip: 'not-needed', reason: 'not needed: no mount(2) failed', node: null }),
      step('graph', undefined, { status: 'skipped', skip: 'unsupported', reason: 'bpftrace unavailable: not installed' }),
      step('errors', undefined, { status: 'failed', reason: 'agent error: boom', node: 'n2' }),
    ];
    const s = p.summarize({ investigation: inv(steps), params, steps });
    const text = JSON.stringify(s);
    expect(text).not.toContain('not needed');
    expect(text).not.toContain('mounts');
    expect(s.notes).toEqual(['graph on n1 could not run: bpftrace unavailable: not installed']);
    expect(s.findings).toEqual([
      { severity: 'warning', title: 't failed on n2', detail: 'agent error: boom', confidence: { level: 'high', reason: 'the agent reported the capture failed' }, evidence: [] },
    ]);
    // Records written before \`skip\` existed said "condition not met: …" for the same thing.
    const old = [step('mounts', undefined, { status: 'skipped', reason: 'condition not met: has(steps.errors.result)' })];
    expect(p.summarize({ investigation: inv(old), params, steps: old })).toMatchObject({ findings: [], notes: [] });
  });
});

describe('playbook validation', () => {
  const fails = (yaml: string) => {
    try {
      compilePlaybook(yaml, 'bad.yaml', tools);
    } catch (err) {
      expect(err).toBeInstanceOf(PlaybookError);
      return (err as PlaybookError).problems;
    }
    throw new Error('expected the playbook to be refused');
  };
  const base = (steps: string, extra = '') => `name: bad\ntitle: t\ndescription: d\n${extra}steps:\n${steps}`;

  it('names file and path for schema errors', () => {
    const problems = fails(base('  - id: Errors\n    tool: syscount\n    title: x\n    bogus: 1\n'));
    expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(['steps.0.id', 'steps.0']));
    expect(() => compilePlaybook(base('  - { id: a, tool: syscount, title: x, bogus: 1 }\n'), 'bad.yaml', tools)).toThrow(/^bad\.yaml: steps\.0: /);
  });

  it('refuses unknown tools, bad CEL, non-boolean conditions and unknown variables', () => {
    expect(fails(base('  - { id: a, tool: nope, title: x }\n'))).toEqual([{ path: 'steps[0].tool', message: expect.stringContaining('unknown tool "nope"') }]);
    expect(fails(base('  - { id: a, tool: syscount, title: x, when: "steps.a.(" }\n'))[0]).toMatchObject({ path: 'steps[0].when', message: expect.stringMatching(/^invalid CEL/) });
    expect(fails(base('  - { id: a, tool: syscount, title: x, when: "1 + 2" }\n'))[0]!.message).toMatch(/expected a bool expression, got int/);
    expect(fails(base('  - { id: a, tool: syscount, title: x, when: "secrets.x == 1" }\n'))[0]!.message).toMatch(/Unknown variable: secrets/);
  });

  it('checks literal tool parameters, duplicate ids, parameter bounds and YAML syntax', () => {
    expect(fails(base('  - { id: a, tool: funcgraph, title: x, params: { function: "a;b" } }\n'))[0]!.path).toBe('steps[0].params.function');
    expect(fails(base('  - { id: a, tool: syscount, title: x }\n  - { id: a, tool: syscount, title: y }\n'))).toEqual([{ path: 'steps[1].id', message: 'duplicate step id "a"' }]);
    expect(fails(base('  - { id: a, tool: syscount, title: x }\n', 'params:\n  d: { type: duration, default: 5m, min: 1s, max: 1m }\n'))).toEqual([{ path: 'params.d', message: 'need min ≤ default ≤ max' }]);
    expect(fails('name: [unclosed\n')[0]!.path).toMatch(/^line \d+$/);
    expect(fails(base('  - { id: a, tool: syscount, title: x }\n', 'params:\n  fn: { type: string, pattern: "[" }\n'))[0]!.path).toBe('params.fn.pattern');
  });

  it('wants a reason in words for every conditional step, a next step for every critical finding and evidence that names steps', () => {
    const step = '  - { id: a, tool: syscount, title: x }\n';
    expect(fails(base(`${step}  - { id: b, tool: syscount, title: y, when: "true" }\n`))).toEqual([{ path: 'steps[1].notNeeded', message: expect.stringContaining('in words') }]);
    expect(fails(base(`${step}  - { id: b, tool: syscount, title: y, notNeeded: never }\n`))).toEqual([{ path: 'steps[1].notNeeded', message: expect.stringContaining('only a step with `when`') }]);
    const rule = (r: string) => base(step, '').replace('steps:', `findings:\n  - ${r}\nsteps:`);
    const sure = 'confidence: { level: high, reason: r }';
    expect(fails(rule(`{ when: "true", severity: critical, title: t, ${sure}, evidence: [{ step: a, fields: [total] }] }`))).toEqual([
      { path: 'findings[0].next', message: expect.stringContaining('what to do next') },
    ]);
    expect(fails(rule(`{ when: "true", severity: info, title: t, ${sure}, evidence: [nope] }`))).toEqual([{ path: 'findings[0].evidence[0]', message: 'no step "nope" in this playbook' }]);
  });

  it('wants every finding rule to say how sure it is and a cause to point at its rows, naming each problem by its path', () => {
    const step = '  - { id: a, tool: syscount, title: x }\n';
    const rule = (r: string) => base(step, '').replace('steps:', `findings:\n  - ${r}\nsteps:`);
    const next = 'next: { commands: [c], remedy: r }';
    expect(fails(rule('{ when: "true", severity: info, title: t }'))).toEqual([{ path: 'findings[0].confidence', message: expect.stringContaining('how sure it is') }]);
    expect(fails(rule(`{ when: "true", severity: critical, title: t, confidence: { level: high, reason: r }, evidence: [a], ${next} }`))).toEqual([
      { path: 'findings[0].evidence', message: expect.stringContaining('rows or fields that support it') },
    ]);
    const problems = fails(
      rule(
        '{ when: "true", severity: warning, title: t, confidence: { level: { expr: "1 +" }, reason: "{{ nope" }, ' +
          'evidence: [{ step: zz, rows: rows }, { step: a, where: "row.x == 1" }, { step: a, rows: rows, fields: [total] }, { step: a, rows: rows, where: "row.(" }] }',
      ),
    );
    expect(problems.map((p) => p.path)).toEqual([
      'findings[0].evidence[0].step',
      'findings[0].evidence[1].where',
      'findings[0].evidence[2].fields',
      'findings[0].evidence[3].where',
      'findings[0].confidence.level.expr',
      'findings[0].confidence.reason',
    ]);
    expect(problems[0]!.message).toBe('no step "zz" in this playbook');
    expect(problems[1]!.message).toContain('give the list it picks from in `rows`');
    // A level that is not high, medium or low is refused by the schema, with its path.
    expect(fails(rule('{ when: "true", severity: info, title: t, confidence: { level: certain, reason: r } }'))[0]!.path).toBe('findings.0');
  });

  it('tells a computed level that is no level as a finding about the rule, not as a guess', () => {
    const yaml = base('  - { id: a, tool: syscount, title: x }\n').replace(
      'steps:',
      'findings:\n  - { when: "true", severity: info, title: t, confidence: { level: { expr: \'"sure"\' }, reason: r } }\nsteps:',
    );
    const pb = compilePlaybook(yaml, 'x.yaml', tools);
    const s = pb.summarize({ investigation: inv([]), params: {}, steps: [] });
    expect(s.findings).toEqual([
      {
        severity: 'warning',
        title: 'playbook rule findings[0] could not be evaluated',
        detail: 'findings[0].confidence.level gave "sure"; expected "high", "medium" or "low"',
        confidence: { level: 'high', reason: 'the playbook engine reported the error itself' },
        evidence: [],
      },
    ]);
  });

  it('loads every playbook in playbooks/', async () => {
    const loaded = await loadPlaybooks();
    expect(loaded.map((p) => p.name)).toEqual(expect.arrayContaining(['enospc', 'cpu-profile']));
  });
});
