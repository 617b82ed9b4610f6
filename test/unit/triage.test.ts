import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { tools } from '../../bpf/index.ts';
import { CpuThrottlingRaw } from '../../bpf/procfs/cpu-throttling/result.ts';
import { summarizeThrottling } from '../../bpf/procfs/cpu-throttling/summarize.ts';
import type { BpftraceTool } from '../../bpf/tool.ts';
import { Investigation, Summary, type Step } from '../../src/core/investigation.ts';
import { DOMINANCE_FACTOR, TRIAGE_THRESHOLDS, dominant, rankSignals, summarizeTriage, triageSignals, type Signal } from '../../src/findings/triage.ts';
import { compilePlaybook, PlaybookError } from '../../src/playbooks/compile.ts';
import { loadPlaybooks, toolCatalogue } from '../../src/playbooks/load.ts';
import type { Playbook } from '../../src/playbooks/playbook.ts';
import { recordingContext, toolFixture } from '../helpers/recordings.ts';
import { summaryProblems } from '../helpers/summary-lint.ts';

/**
 * Triage's rules over real results: each step's result is a recording from this kind of host (the tools' fixtures/,
 * each README says how), parsed by the tool's own parser as the agent does.
 */
const STEP_OF: Record<string, string> = {
  syscount: 'errors', runqlat: 'runq', biolatency: 'io', tcpretrans: 'retrans', tcpconnect: 'connect', oomkill: 'kills', execsnoop: 'execs', profile: 'cpu',
  'cpu-throttling': 'throttle',
};

/** cpu-throttling is a native tool: its recordings are the readings (raw.json), its result computed from them. */
const throttlingRecording = (fixture: string) =>
  summarizeThrottling(CpuThrottlingRaw.parse(JSON.parse(readFileSync(new URL(`../../bpf/procfs/cpu-throttling/fixtures/${fixture}`, import.meta.url), 'utf8'))));

function recorded(tool: string, fixture: string, node = 'n1'): Step {
  const t = tools[tool] as BpftraceTool;
  const result = tool === 'cpu-throttling' ? throttlingRecording(fixture) : t.parse(toolFixture(tool, fixture), t.params.parse({}), recordingContext({})).result;
  const id = STEP_OF[tool]!;
  return { id, tool, node, status: 'succeeded', result, artifacts: [`${id}/${node}/raw.json`, `${id}/${node}/result.json`] };
}

/** Every tool on a quiet target; `with` replaces some by busier recordings. */
const QUIET: Record<string, string> = {
  syscount: 'no-failures.json', runqlat: 'idle-cgroup.json', biolatency: 'idle-cgroup.json', tcpretrans: 'no-retransmits.json',
  tcpconnect: 'no-connects.json', oomkill: 'no-kills.json', execsnoop: 'no-execs.json', profile: 'no-samples.json',
  'cpu-throttling': 'no-quota.json',
};
const stepsWith = (busy: Record<string, string> = {}, node = 'n1') =>
  Object.entries({ ...QUIET, ...busy }).map(([tool, fixture]) => recorded(tool, fixture, node));

const target = { cgroup: '/app' };
/** The profile fixtures were recorded over about 3 s (fixtures/README.md): rates are over the window given. */
const triage = (steps: Step[], durationMs = 3000, sweeps: Investigation[] = []) => summarizeTriage({ steps, durationMs, target, sweeps });
const kinds = (signals: Signal[]) => signals.filter((s) => s.standsOut).map((s) => s.kind);

describe('triage over recorded results', () => {
  it('a quiet target: nothing stands out, and every signal is ruled out with its figure', () => {
    const d = triage(stepsWith());
    expect(d.headline).toBe(
      'Nothing stands out on /app in 3s: no failing syscalls; no run-queue waits; no block I/O; no TCP retransmits; no TCP connects; no OOM kill; 0.0 executions/s (0 execs); no on-CPU samples; no CPU quota on the target',
    );
    expect(d.nextPlaybook).toBeUndefined();
    expect(d.findings.every((f) => f.severity === 'info')).toBe(true);
    expect(d.findings.map((f) => f.title)).toEqual([
      'Ruled out: failing syscalls — no failing syscalls',
      expect.stringMatching(/^Ruled out: run-queue latency — (no run-queue waits|run-queue p99 [\d.]+ [µm]s over \d+ waits?)$/),
      expect.stringMatching(/^Ruled out: block I\/O latency — (no block I\/O|block I\/O .*)$/),
      'Ruled out: TCP retransmits — no TCP retransmits',
      'Ruled out: failed TCP connects — no TCP connects',
      'Ruled out: OOM kills — no OOM kill',
      expect.stringMatching(/^Ruled out: exec rate — 0\.0 executions\/s \(0 execs\)$/),
      'Ruled out: CPU profile — no on-CPU samples',
      'Ruled out: CPU quota throttling — no CPU quota on the target',
    ]);
    // Each points at the result it read, with the fields it quotes.
    for (const f of d.findings) expect(f.evidence[0]?.artifact).toMatch(/^[a-z]+\/n1\/result\.json$/);
  });

  it('a process burning CPU in one function: the CPU signal stands out, dominates, and leads to cpu-profile', () => {
    const steps = stepsWith({ profile: 'burner-pid.json' });
    const signals = rankSignals(triageSignals({ steps, durationMs: 3000 }));
    expect(kinds(signals)).toEqual(['cpu']);
    expect(dominant(signals)?.kind).toBe('cpu');
    const d = triage(steps);
    expect(d.headline).toMatch(/^Stands out on \/app in 3s: crunch_alpha is \d+% of the target's on-CPU samples \([\d.]+ CPUs busy\), mostly in burn \(pid 9272: 100% of samples\); next: cpu-profile$/);
    expect(d.nextPlaybook).toEqual({ playbook: 'cpu-profile', why: expect.stringContaining('crunch_alpha'), chain: true });
    expect(d.findings[0]).toMatchObject({ severity: 'warning', title: expect.stringMatching(/^Stands out: crunch_alpha/), evidence: [{ artifact: 'cpu/n1/result.json', rows: ['/topFunctions/0'] }] });
    expect(d.findings[0]!.next?.commands[0]).toContain(`'{"playbook":"cpu-profile","target":{"cgroup":"/app"}}'`);
  });

  it('a cgroup throttled by its CPU quota stands out, dominates a busy loop\'s profile, and leads to cpu-throttling', () => {
    const steps = stepsWith({ 'cpu-throttling': 'quota-20ms.json', profile: 'burner-pid.json' });
    const ranked = rankSignals(triageSignals({ steps, durationMs: 3000 }));
    expect(ranked[0]).toMatchObject({ kind: 'throttle', standsOut: true, ratio: 10, playbook: 'cpu-throttling', confidence: { level: 'high' } });
    expect(dominant(ranked)?.kind).toBe('throttle');
    const d = triage(steps);
    expect(d.headline).toMatch(
      /^Stands out on \/app in 3s: CPU throttled: \/tracehound-test-fixture-quota-\w+ \(v1 cpu cgroup \/tracehound-incident-fixture-\w+\) hit its quota of 0\.2 CPU in 100% of periods, throttled 1\.6 s of 3\.0 s; th-spinner \(pid \d+\) uses most \(0\.2 CPU\) \(and 1 other signal\); next: cpu-throttling$/,
    );
    expect(d.nextPlaybook).toMatchObject({ playbook: 'cpu-throttling', chain: true });
    expect(d.findings[0]!.evidence).toEqual([expect.objectContaining({ artifact: 'throttle/n1/result.json', rows: ['/cgroups/0'] })]);
    // Under its threshold (1 period of 60), a pod-level quota is ruled out with its figure.
    const light = triageSignals({ steps: stepsWith({ 'cpu-throttling': 'parent-quota.json' }), durationMs: 3000 }).find((x) => x.kind === 'throttle')!;
    expect(light).toMatchObject({ standsOut: false });
    expect(light.figure).toMatch(/^throttled in 1\.7% of periods at most \(quota 0\.5 CPU on .*, 1 of 60 periods throttled\)$/);
  });

  it('the same profile over a long window is an idle process: too few CPUs busy to name a hot function', () => {
    // 3 s of samples read as 60 s: 0.05 CPUs busy, under minBusyCpus.
    const d = triage(stepsWith({ profile: 'burner-pid.json' }), 60_000);
    expect(d.headline).toMatch(/^Nothing stands out/);
    expect(d.findings.find((f) => f.title.startsWith('Ruled out: CPU profile'))?.title).toMatch(/0\.0\d CPUs busy/);
  });

  it('ENOSPC (a resource errno, critical) outranks a hot function and dominates it; it leads to enospc', () => {
    const steps = stepsWith({ profile: 'burner-pid.json', syscount: 'enospc-cgroup.json' });
    const ranked = rankSignals(triageSignals({ steps, durationMs: 3000 }));
    expect(kinds(ranked)[0]).toBe('syscalls');
    expect(kinds(ranked)).toContain('cpu');
    expect(dominant(ranked)?.kind).toBe('syscalls');
    const d = triage(steps);
    expect(d.headline).toMatch(/^Stands out on \/app in 3s: write\(2\), fallocate\(2\), pwrite64\(2\) fail with ENOSPC 22 times in .* \(and 1 other signal\); next: enospc$/);
    expect(d.findings[0]).toMatchObject({ severity: 'critical', confidence: { level: 'high' } });
    expect(d.findings[0]!.evidence[0]).toMatchObject({ artifact: 'errors/n1/result.json', rows: expect.arrayContaining(['/rows/0']) });
    expect(d.nextPlaybook).toMatchObject({ playbook: 'enospc', chain: true });
  });

  it('OOM kills and ENOSPC together: both critical, ranked by their ratio, chained only past the dominance factor', () => {
    const steps = stepsWith({ oomkill: 'memcg-two-kills.json', syscount: 'enospc-cgroup.json' });
    const ranked = rankSignals(triageSignals({ steps, durationMs: 3000 }));
    const [first, second] = ranked;
    expect(first!.severity).toBe('critical');
    expect(second!.severity).toBe('critical');
    expect(first!.ratio).toBeGreaterThanOrEqual(second!.ratio);
    expect(dominant(ranked)).toBe(first!.ratio >= DOMINANCE_FACTOR * second!.ratio ? first : null);
    const oom = ranked.find((s) => s.kind === 'oom')!;
    expect(oom).toMatchObject({ standsOut: true, ratio: 2, playbook: 'oomkill', title: expect.stringMatching(/^2 OOM kills: /) });
  });

  it('an exec storm and CPU-bound loops: warnings of one severity, chained only when one ratio is 3× the other', () => {
    const steps = stepsWith({ execsnoop: 'storm-cgroup.json', runqlat: 'hogs-cgroup.json' });
    const ranked = rankSignals(triageSignals({ steps, durationMs: 3000 }));
    const out = ranked.filter((s) => s.standsOut);
    expect(out.map((s) => s.kind).sort()).toEqual(expect.arrayContaining(['execs']));
    const execs = out.find((s) => s.kind === 'execs')!;
    expect(execs.ratio).toBeGreaterThanOrEqual(1);
    expect(execs.playbook).toBe('exec-storm');
    const [a, b] = out;
    expect(dominant(ranked)).toBe(b === undefined || a!.ratio >= DOMINANCE_FACTOR * b.ratio ? a : null);
  });

  it('failed connects and retransmits over loopback lead to connections', () => {
    const steps = stepsWith({ tcpconnect: 'loopback-cgroup.json', tcpretrans: 'loopback-cgroup.json' });
    const signals = triageSignals({ steps, durationMs: 10_000 });
    const connects = signals.find((s) => s.kind === 'connects')!;
    expect(connects.standsOut).toBe(true);
    expect(connects.title).toMatch(/^\d+ of \d+ TCP connects failed \(.*(ECONNREFUSED|ETIMEDOUT)/);
    expect(connects.playbook).toBe('connections');
    expect(connects.evidence).toEqual([expect.objectContaining({ artifact: 'connect/n1/result.json', rows: expect.arrayContaining(['/targets/0']) })]);
  });

  it('thresholds hold at their edges', () => {
    const t = TRIAGE_THRESHOLDS;
    expect(t.runqP99Us).toBe(10_000);
    expect(t.ioP99Us).toBe(50_000);
    expect(t.hotFunctionShare).toBe(0.3);
    const onlyOne = (kind: Signal['kind'], ratio: number): Signal[] => [
      { kind, node: 'n', standsOut: ratio >= 1, severity: 'warning', ratio, title: '', figure: '', detail: '', playbook: 'x', why: '', confidence: { level: 'high', reason: 'r' }, evidence: [] },
    ];
    expect(dominant(onlyOne('runq', 0.99))).toBeNull();
    expect(dominant(onlyOne('runq', 1))?.kind).toBe('runq');
    const two = [...onlyOne('cpu', 3), ...onlyOne('runq', 1)];
    expect(dominant(rankSignals(two))?.kind).toBe('cpu');
    const close = [...onlyOne('cpu', 2.9), ...onlyOne('runq', 1)];
    expect(dominant(rankSignals(close))).toBeNull();
  });
});

describe("the joint program's step (bpf/bpftrace/triage)", () => {
  /** One recording of the joint program, parsed by its parser: every checklist tool's result under its name. */
  const joint = (): Step => {
    const t = tools.triage as BpftraceTool;
    const { result } = t.parse(toolFixture('triage', 'node-wide.json'), t.params.parse({}), recordingContext({}));
    return { id: 'kernel', tool: 'triage', node: 'n1', status: 'succeeded', result, artifacts: ['kernel/n1/raw.json', 'kernel/n1/result.json'] };
  };

  it('reads each signal as from its own tool, with evidence pointing under the tool\'s name in the joint result', () => {
    const step = joint();
    const parts = (step.result as Record<string, unknown>);
    // The same signals as eight separate steps holding the same results.
    const separate: Step[] = Object.entries(STEP_OF).filter(([tool]) => tool !== 'cpu-throttling').map(([tool, id]) => ({ id, tool, node: 'n1', status: 'succeeded', result: parts[tool], artifacts: [`${id}/n1/result.json`] }));
    const figures = (steps: Step[]) => triageSignals({ steps, durationMs: 8000 }).map((x) => [x.kind, x.standsOut, x.figure]);
    expect(figures([step])).toEqual(figures(separate));
    expect(figures([step])).toHaveLength(8);
    for (const sig of triageSignals({ steps: [step], durationMs: 8000 })) {
      for (const e of sig.evidence) {
        expect(e.artifact).toBe('kernel/n1/result.json');
        for (const row of e.rows ?? []) expect(row).toMatch(/^\/(syscount|runqlat|biolatency|tcpretrans|tcpconnect|oomkill|execsnoop|profile)\//);
      }
    }
  });

  it('a joint step that failed leaves every kernel signal not measured, and says so', () => {
    const failed: Step = { ...joint(), status: 'failed', result: undefined, reason: 'bpftrace exited 1' };
    const d = triage([failed, recorded('cpu-throttling', 'no-quota.json')]);
    expect(d.headline).toMatch(/; not measured: syscount, runqlat, biolatency, tcpretrans, tcpconnect, oomkill, execsnoop, profile$/);
  });
});

describe('triage against the node\'s health sweeps', () => {
  const sweep = (id: string, createdAt: string, steps: Step[]): Investigation =>
    Investigation.parse({ id, status: 'succeeded', playbook: 'health-sweep', params: {}, createdAt, requestedBy: 'schedule:nightly', schedule: 'nightly', steps, artifacts: [] });
  const withoutEnospc = (s: Step): Step => {
    const r = s.result as { rows: { errno: string }[]; totalEvents: number };
    return { ...s, result: { ...r, rows: r.rows.filter((row) => row.errno !== 'ENOSPC') } };
  };
  const quietSweep = (id: string, at: string) =>
    sweep(id, at, ['syscount', 'runqlat', 'biolatency', 'tcpretrans', 'oomkill'].map((t) => recorded(t, QUIET[t]!)));

  it('a figure under its threshold that is new against the usual stands out, naming the sweeps', () => {
    // The node-wide recording without its ENOSPC rows: syscalls failing with errnos that are not resources (futex
    // ETIMEDOUT, openat ENOENT…), under every threshold.
    const steps = stepsWith({ syscount: 'unfiltered.json' }).map((s) => (s.tool === 'syscount' ? withoutEnospc(s) : s));
    expect(kinds(triageSignals({ steps, durationMs: 4000 }))).toEqual([]);
    const sweeps = [quietSweep('inv_01', '2026-12-01T00:00:00Z'), quietSweep('inv_02', '2026-12-02T00:00:00Z')];
    const signals = triageSignals({ steps, durationMs: 4000, sweeps });
    const sys = signals.find((s) => s.kind === 'syscalls')!;
    expect(sys.standsOut).toBe(true);
    expect(sys.detail).toMatch(/Against n1's usual by 2 health sweeps of schedule nightly \(node-wide figures\): New failing syscall \w+ E[A-Z]+ on n1/);
    // The others are within the usual, and say so.
    expect(signals.find((s) => s.kind === 'runq')!.detail).toMatch(/Within the usual of n1 by 2 health sweeps/);
    // Sweeps of another node say nothing of this one.
    const elsewhere = stepsWith({ syscount: 'unfiltered.json' }, 'n2').map((s) => (s.tool === 'syscount' ? withoutEnospc(s) : s));
    expect(triageSignals({ steps: elsewhere, durationMs: 4000, sweeps }).find((s) => s.kind === 'syscalls')!.standsOut).toBe(false);
  });
});

describe('the triage playbook', () => {
  let playbook: Playbook;
  beforeAll(async () => {
    playbook = (await loadPlaybooks()).find((p) => p.name === 'triage')!;
  });

  it('runs the joint kernel program and the throttling reader, routes no symptom to itself and compares with sweeps', () => {
    expect(playbook.steps.map((s) => s.tool)).toEqual(['triage', 'cpu-throttling']);
    expect(playbook.comparesWithSweeps).toBe(true);
    expect(playbook.params.parse({})).toEqual({ duration: 5000, hz: 99 });
    expect(() => playbook.params.parse({ duration: '1m' })).toThrow();
  });

  it('is parallel, and a parallel playbook may not make a step wait for another', () => {
    expect(playbook.parallel).toBe(true);
    const yaml = (step: string) => `name: p\ntitle: t\ndescription: d\nparallel: true\nsteps:\n  - { id: a, tool: syscount, title: x }\n${step}`;
    const problems = (text: string) => {
      try {
        compilePlaybook(text, 'p.yaml', toolCatalogue());
        return [];
      } catch (err) {
        return (err as PlaybookError).problems.map((p) => p.path);
      }
    };
    expect(problems(yaml('  - { id: b, tool: runqlat, title: y }\n'))).toEqual([]);
    expect(problems(yaml('  - { id: b, tool: runqlat, title: y, when: has(steps.a.result), notNeeded: nothing failed }\n'))).toEqual(['steps[1].when']);
    expect(problems(yaml('  - { id: b, tool: runqlat, title: y, duration: { expr: "steps.a.result.totalEvents > 0 ? \'2s\' : \'1s\'" } }\n'))).toEqual(['steps[1]']);
  });

  it('summarizes into a Summary carrying the next playbook, and notes a step that could not run', () => {
    const steps = stepsWith({ profile: 'burner-pid.json' }).map((s): Step => (s.tool === 'biolatency' ? { ...s, status: 'skipped', skip: 'unsupported', reason: 'no block tracepoints', result: undefined } : s));
    const inv = Investigation.parse({ id: 'inv_x', status: 'succeeded', playbook: 'triage', params: {}, createdAt: '2026-12-06T00:00:00Z', requestedBy: 'token:t', target, steps, artifacts: [] });
    const summary = Summary.parse(playbook.summarize({ investigation: inv, params: { duration: 3000, hz: 99 }, steps }));
    expect(summary.nextPlaybook).toEqual({ playbook: 'cpu-profile', why: expect.any(String), chain: true });
    expect(summary.notes).toEqual(['io on n1 could not run: no block tracepoints']);
    // With nothing standing out, the headline says what was not measured.
    const quiet = stepsWith().map((s): Step => (s.tool === 'biolatency' ? { ...s, status: 'failed', reason: 'boom', result: undefined } : s));
    expect(triage(quiet).headline).toMatch(/; no on-CPU samples; no CPU quota on the target; not measured: biolatency$/);
    expect(summary.findings.some((f) => f.title.includes('block I/O'))).toBe(false);
    expect(summaryProblems(summary, steps)).toEqual([]);
  });

  it.each([
    ['quiet', {}],
    ['everything at once', { syscount: 'enospc-cgroup.json', runqlat: 'hogs-cgroup.json', biolatency: 'dd-cgroup.json', tcpretrans: 'loopback-cgroup.json', tcpconnect: 'loopback-cgroup.json', oomkill: 'memcg-two-kills.json', execsnoop: 'storm-cgroup.json', profile: 'node-wide.json', 'cpu-throttling': 'quota-20ms.json' }],
    ['node-wide failures', { syscount: 'unfiltered.json', profile: 'node-wide.json', biolatency: 'dd-node.json', runqlat: 'hogs-node.json' }],
  ])('reads well, each finding rated and pointing at rows that exist: %s', (_name, busy) => {
    const steps = stepsWith(busy);
    const inv = Investigation.parse({ id: 'inv_x', status: 'succeeded', playbook: 'triage', params: {}, createdAt: '2026-12-06T00:00:00Z', requestedBy: 'token:t', target, steps, artifacts: [] });
    const summary = Summary.parse(playbook.summarize({ investigation: inv, params: { duration: 3000, hz: 99 }, steps }));
    expect(summaryProblems(summary, steps)).toEqual([]);
  });
});
