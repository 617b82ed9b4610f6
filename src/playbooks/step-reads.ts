import type { StepSpec } from './schema.ts';

/** As compile.ts reports them: where in the YAML, and what is wrong. */
type PlaybookProblem = { path: string; message: string };

/** A step's own expressions that are evaluated before it is dispatched: its condition, duration and parameters. */
function planTexts(s: StepSpec): string[] {
  return [s.when ?? '', JSON.stringify([s.duration, s.params, s.fallback?.duration, s.fallback?.params])];
}

/**
 * The ids, among `ids`, of the steps a step's plan reads (`steps.errors…`, `steps["mount-calls"]…`); every one of
 * them when it reads `steps` in another way (the whole map), which cannot be told apart.
 */
export function stepsRead(s: StepSpec, ids: readonly string[]): string[] {
  const read = new Set<string>();
  for (const text of planTexts(s)) {
    for (const m of text.matchAll(/\bsteps\b(\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)|\s*\[\s*\\?["']([^"'\\]+)\\?["']\s*\])?/g)) {
      const id = m[2] ?? m[3];
      if (id === undefined) return [...ids];
      if (ids.includes(id)) read.add(id);
    }
  }
  return [...read];
}

/**
 * A step marked `parallel` is dispatched together with the run of steps before it that it ends (the step before it
 * and, if that one is `parallel` too, the ones before that): it cannot wait for their results. Problems where one
 * reads a step it runs with, and where the first step is marked (it has none to run with).
 */
export function parallelStepProblems(steps: readonly StepSpec[]): PlaybookProblem[] {
  const problems: PlaybookProblem[] = [];
  let group: string[] = [];
  steps.forEach((s, i) => {
    if (!s.parallel) {
      group = [s.id];
      return;
    }
    if (i === 0) problems.push({ path: 'steps[0].parallel', message: 'the first step has no step before it to run with' });
    const read = stepsRead(s, group);
    if (read.length > 0) {
      problems.push({ path: `steps[${i}].parallel`, message: `runs together with ${read.join(', ')}, whose result it reads: it must come after it, not beside it` });
    }
    group.push(s.id);
  });
  return problems;
}
