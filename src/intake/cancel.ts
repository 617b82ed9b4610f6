import type { QUEUES, ProducerOf } from '../queue/queues.ts';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Identity } from '../auth/identity.ts';
import { ConflictError } from '../core/errors.ts';
import { isTerminal, type Investigation } from '../core/investigation.ts';
import type { Notifier } from '../notify/notifier.ts';
import type { InvestigationRecords } from '../records/investigation-records.ts';

export interface CancelDeps {
  records: InvestigationRecords;
  investigations: ProducerOf<typeof QUEUES.investigations>;
  audit: AuditLog;
  notifier: Notifier;
  log: Logger;
}

/** Cancels from any front door (HTTP, Slack). A queued investigation is taken out before any capture starts. */
export async function cancelInvestigation(deps: CancelDeps, who: Identity, inv: Investigation): Promise<Investigation & { cancelRequested?: true }> {
  if (isTerminal(inv.status)) throw new ConflictError(`investigation ${inv.id} already ${inv.status}`);
  await deps.audit.append({ actor: who.requestedBy, action: 'investigation.cancel', subject: inv.id, detail: { status: inv.status } });
  if (inv.status === 'queued') {
    const job = await deps.investigations.getJob(inv.id);
    if (job && (await job.getState()) === 'waiting') {
      await job.remove().catch(() => undefined);
      if (!(await deps.investigations.getJob(inv.id))) {
        const done: Investigation = { ...inv, status: 'cancelled', reason: `cancelled by ${who.requestedBy} before it started`, finishedAt: new Date().toISOString() };
        await deps.records.put(done);
        await deps.records.requestCancel(inv.id);
        await deps.notifier.changed(inv.id, 'final');
        return done;
      }
    }
  }
  await deps.records.requestCancel(inv.id);
  deps.log.info({ investigation: inv.id, by: who.requestedBy }, 'cancel requested');
  return { ...((await deps.records.find(inv.id)) ?? inv), cancelRequested: true };
}
