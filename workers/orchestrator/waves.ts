import type { CompiledStep, Playbook } from '../../src/playbooks/playbook.ts';

/**
 * The steps dispatched together from step `index` on, collected at one wake-up: all the rest for a parallel
 * playbook (triage: none depends on another); otherwise the step and the steps after it marked `parallel` (side by
 * side follow-ups of an earlier result, which compile.ts checked do not read each other). Empty past the last step.
 */
export function stepsDispatchedWith(playbook: Pick<Playbook, 'steps' | 'parallel'>, index: number): CompiledStep[] {
  const first = playbook.steps[index];
  if (!first) return [];
  if (playbook.parallel) return playbook.steps.slice(index);
  let end = index + 1;
  while (playbook.steps[end]?.parallel) end++;
  return playbook.steps.slice(index, end);
}
