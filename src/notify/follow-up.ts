import { isTerminal } from '../core/investigation.ts';
import type { InvestigationRecords } from '../records/investigation-records.ts';
import type { Notifier } from './notifier.ts';
import type { NotifyTarget, NotifyTargets } from './targets.ts';

/**
 * Adds a target to an investigation that is already running, once its acknowledgement has been posted: given at
 * the start instead, a fast investigation (one that fails at once, say) could post its result before the ack,
 * and "the result follows in this thread" would read upside down.
 *
 * Race-free with the orchestrator's final event: the orchestrator writes the ended record, then asks the notifier,
 * which posts only for investigations with a target. Either it sees the target added here, or the record read here
 * after adding is already ended and the final notification is asked for from here, as a job of its own (the
 * investigation's final job may have run already, for the targets it had then). Both may happen: the per-target
 * final claim (NotifyTargets.markFinal) makes it one post.
 */
export async function followUpLater(
  deps: { notifyTargets: NotifyTargets; records: InvestigationRecords; notifier: Notifier },
  id: string,
  target: NotifyTarget,
): Promise<void> {
  const index = await deps.notifyTargets.add(id, target);
  const inv = await deps.records.find(id);
  if (inv && isTerminal(inv.status)) await deps.notifier.changed(id, 'final', { lateTarget: index });
}
