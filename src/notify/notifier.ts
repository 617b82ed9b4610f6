import type { Queue } from 'bullmq';
import { z } from 'zod';
import { InvestigationId } from '../core/ids.ts';
import type { NotifyTargets } from './targets.ts';

export const NOTIFICATIONS_QUEUE = 'notifications';

export const NotifyJob = z.object({ id: InvestigationId, event: z.enum(['progress', 'final']) });
export type NotifyJob = z.infer<typeof NotifyJob>;

/**
 * Turns investigation changes into notification jobs, only for investigations someone asked to be told about.
 * Posting happens in a worker with retries, so a slow or failing Slack never holds up an investigation.
 */
export class Notifier {
  constructor(
    private readonly targets: NotifyTargets,
    private readonly queue: Queue,
  ) {}

  async changed(id: string, event: NotifyJob['event']): Promise<void> {
    if (!(await this.targets.has(id))) return;
    await this.queue.add(event, { id, event } satisfies NotifyJob, {
      // One final message per investigation however often the orchestrator retries its last step.
      ...(event === 'final' ? { jobId: `${id}-final` } : {}),
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: 1000,
      removeOnFail: 1000,
    });
  }
}
