/**
 * BullMQ's queues, flows and workers over the specs in queues.ts. The one module that loads BullMQ (about 1 MB of
 * JavaScript, a third of what the API would otherwise parse at start): the orchestrator and agents import it, the
 * API reaches it through producer.ts on its first enqueue.
 */
import { FlowProducer, Queue, Worker, type WorkerOptions } from 'bullmq';
import type { z } from 'zod';
import type { DataIn, JobHandler, QueueConnection, QueueOf, QueueSpec, ResultIn, WorkerOf } from './queues.ts';

export function openQueue<S extends QueueSpec>(spec: S, { connection, prefix }: QueueConnection): QueueOf<S> {
  return new Queue<DataIn<S>, ResultIn<S>>(spec.name, { connection, prefix });
}

/** Adds jobs to several queues in one transaction (a step's captures: one queue per node). */
export function openFlowProducer({ connection, prefix }: QueueConnection): FlowProducer {
  return new FlowProducer({ connection, prefix });
}

export function startWorker<Data extends z.ZodType, Result extends z.ZodType>(
  spec: QueueSpec<Data, Result>,
  // Not a site to infer the queue's types from: the queue alone says what the handler takes and returns.
  handle: NoInfer<JobHandler<QueueSpec<Data, Result>>>,
  opts: QueueConnection & Omit<WorkerOptions, 'connection' | 'prefix'>,
): WorkerOf<QueueSpec<Data, Result>> {
  return new Worker<z.input<Data>, z.input<Result>>(spec.name, async (job, token) => handle(spec.data.parse(job.data), job, token), opts);
}
