import type { NotifyJob } from '../queue/jobs.ts';
import type { QUEUES, ProducerOf } from '../queue/queues.ts';
import type { NotifyTargets } from './targets.ts';

/**
 * Turns investigation changes into notification jobs, only for investigations someone asked to be told about.
 * Posting happens in a worker with retries, so a slow or failing Slack never holds up an investigation.
 */
export class Notifier {
  constructor(
    private readonly targets: NotifyTargets,
    private readonly queue: ProducerOf<typeof QUEUES.notifications>,
  ) {}

  async changed(id: string, event: NotifyJob['event']): Promise<void> {
    if (!(await this.targets.has(id))) return;
    await this.queue.add(event, { id, event }, {
      // One final message per investigation however often the orchestrator retries its last step.
      ...(event === 'final' ? { jobId: `${id}-final` } : {}),
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: 1000,
      removeOnFail: 1000,
    });
  }
}
