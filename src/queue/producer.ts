/**
 * A producer's side of a queue that loads BullMQ on its first call. The API only adds jobs and looks them up, and
 * most of its requests do neither: parsing BullMQ up front cost it a quarter of its start-up (issue #13's budgets,
 * bench/startup.ts). Calls before the queue is open wait for it; close() on a queue never used does nothing.
 */
import type { ProducerOf, QueueConnection, QueueOf, QueueSpec } from './queues.ts';

export function openProducer<S extends QueueSpec>(spec: S, at: QueueConnection): ProducerOf<S> {
  let opened: Promise<QueueOf<S>> | undefined;
  const queue = () => (opened ??= import('./open.ts').then((m) => m.openQueue(spec, at)));
  return {
    add: async (...args) => (await queue()).add(...args),
    getJob: async (...args) => (await queue()).getJob(...args),
    upsertJobScheduler: async (...args) => (await queue()).upsertJobScheduler(...args),
    removeJobScheduler: async (...args) => (await queue()).removeJobScheduler(...args),
    getJobScheduler: async (...args) => (await queue()).getJobScheduler(...args),
    close: async () => {
      if (opened) await (await opened).close();
    },
  };
}
