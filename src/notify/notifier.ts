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

  /**
   * `lateTarget`: the index of a target added after the investigation ended (follow-up.ts). Its final job needs an
   * id of its own: the investigation's one final job may have run already, for the targets it had then.
   */
  async changed(id: string, event: NotifyJob['event'], opts: { lateTarget?: number } = {}): Promise<void> {
    if (!(await this.targets.has(id))) return;
    await this.queue.add(event, { id, event }, {
      // One final message per investigation however often the orchestrator retries its last step.
      ...(event === 'final' ? { jobId: opts.lateTarget === undefined ? `${id}-final` : `${id}-final-${opts.lateTarget}` } : {}),
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: 1000,
      removeOnFail: 1000,
    });
  }
}
