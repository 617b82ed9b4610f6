import type { Step } from '../../src/core/investigation.ts';
import type { CompiledStep } from '../../src/playbooks/playbook.ts';

/** What an entry says beyond the step it belongs to and its node; `title` and `tool` when a fallback ran instead. */
export type EntryFields = Omit<Step, 'id' | 'node' | 'artifacts' | 'title' | 'tool'> & Partial<Pick<Step, 'title' | 'tool' | 'artifacts'>>;

/**
 * The one way an entry of the record's steps is made: one per (playbook step, node), or with node null when the
 * step did not get as far as a node (not needed, no placement). Artifacts start empty: captures add them.
 */
export function stepEntry(step: Pick<CompiledStep, 'id' | 'title' | 'tool'>, node: string | null, fields: EntryFields): Step {
  return { id: step.id, title: step.title, tool: step.tool, node, artifacts: [], ...fields };
}
