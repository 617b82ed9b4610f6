import { describe, expect, it } from 'vitest';
import { compilePlaybook, PlaybookError } from '../../src/playbooks/compile.ts';
import { loadPlaybooks, toolCatalogue } from '../../src/playbooks/load.ts';
import { stepsDispatchedWith } from '../../workers/orchestrator/waves.ts';

const yaml = (steps: string, extra = '') => `name: p\ntitle: t\ndescription: d\n${extra}steps:\n${steps}`;
const problems = (text: string) => {
  try {
    compilePlaybook(text, 'p.yaml', toolCatalogue());
    return [];
  } catch (err) {
    return (err as PlaybookError).problems.map((p) => `${p.path}: ${p.message}`);
  }
};
const waves = (text: string) => {
  const playbook = compilePlaybook(text, 'p.yaml', toolCatalogue());
  const out: string[][] = [];
  for (let i = 0; i < playbook.steps.length; ) {
    const wave = stepsDispatchedWith(playbook, i);
    out.push(wave.map((s) => s.id));
    i += wave.length;
  }
  return out;
};

describe('steps marked parallel', () => {
  const follow = `  - { id: a, tool: syscount, title: x }
  - { id: b, tool: execsnoop, title: y, when: has(steps.a.result), notNeeded: nothing failed }
  - { id: c, tool: runqlat, title: z, parallel: true, when: 'has(steps.a.result) && steps.a.result.totalEvents > 0', notNeeded: nothing failed }
  - { id: d, tool: oomkill, title: w, parallel: true, params: { endAfterMs: { expr: 'size(steps.a.result.rows) > 0 ? 1000 : 2000' } } }
  - { id: e, tool: profile, title: v }
`;

  it('go with the step before them, which may read earlier steps; the next unmarked step starts a new wave', () => {
    expect(problems(yaml(follow))).toEqual([]);
    expect(waves(yaml(follow))).toEqual([['a'], ['b', 'c', 'd'], ['e']]);
  });

  it('all go at once in a parallel playbook, and one at a time without marks', () => {
    const plain = '  - { id: a, tool: syscount, title: x }\n  - { id: b, tool: runqlat, title: y }\n  - { id: c, tool: execsnoop, title: z }\n';
    expect(waves(yaml(plain))).toEqual([['a'], ['b'], ['c']]);
    expect(waves(yaml(plain, 'parallel: true\n'))).toEqual([['a', 'b', 'c']]);
  });

  it('may not read a step they run with, in a condition, a duration or a parameter, by name or by index', () => {
    const two = (b: string) =>
      yaml(`  - { id: mount-calls, tool: syscount, title: x }\n  - { id: b, tool: runqlat, title: y, parallel: true, ${b} }\n`);
    expect(problems(two('when: \'steps["mount-calls"].result.totalEvents > 0\', notNeeded: n'))).toEqual([
      'steps[1].parallel: runs together with mount-calls, whose result it reads: it must come after it, not beside it',
    ]);
    expect(problems(two('duration: { expr: \'steps["mount-calls"].result.totalEvents > 0 ? "2s" : "1s"\' }'))).toHaveLength(1);
    // Reading the steps map as a whole could read any of them.
    expect(problems(two('when: \'size(steps) > 0\', notNeeded: n'))).toHaveLength(1);
    // A mark on the first step has nothing to run with.
    expect(problems(yaml('  - { id: a, tool: syscount, title: x, parallel: true }\n'))).toEqual(['steps[0].parallel: the first step has no step before it to run with']);
  });

  it('put the independent follow-ups of enospc side by side once its failing syscalls are counted', async () => {
    const enospc = (await loadPlaybooks()).find((p) => p.name === 'enospc')!;
    const ids: string[][] = [];
    for (let i = 0; i < enospc.steps.length; ) {
      const wave = stepsDispatchedWith(enospc, i);
      ids.push(wave.map((s) => s.id));
      i += wave.length;
    }
    expect(ids).toEqual([['errors'], ['mounts', 'mount-calls', 'refusals', 'mount-path', 'watches', 'filesystems']]);
  });
});
