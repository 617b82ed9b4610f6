import type { Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { CaptureJob, CaptureOutcome, InvestigateJob, LateArtifactsJob, NotifyJob, ScheduleFireJob, ScheduleFireResult, StoreReportsJob } from './jobs.ts';

/**
 * Every BullMQ queue: its name, what its jobs carry and what its workers return (schemas in jobs.ts). Queues and
 * workers are opened only through `openQueue` and `startWorker` (open.ts) or `openProducer` (producer.ts), so a producer can add only the data its queue
 * takes and a worker is handed that data parsed: no part reads `job.data` as something it merely hopes it is.
 * BullMQ keeps each queue's keys under `<QUEUE_PREFIX>:<name>:`; tracehound's own keys are in src/redis/keys.ts.
 */
export interface QueueSpec<Data extends z.ZodType = z.ZodType, Result extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly data: Data;
  readonly result: Result;
}

const defineQueue = <Data extends z.ZodType, Result extends z.ZodType>(name: string, data: Data, result: Result): QueueSpec<Data, Result> => ({ name, data, result });

export const QUEUES = {
  /** Investigations to run (intake → orchestrator); each job also keeps its run's progress. */
  investigations: defineQueue('investigations', InvestigateJob, z.void()),
  /** Artifacts an agent stored after its capture ended (agent → orchestrator, the records' only writer). */
  lateArtifacts: defineQueue('late-artifacts', LateArtifactsJob, z.void()),
  /** Report files of ended investigations still to store (orchestrator → itself, retried until storage takes them). */
  reports: defineQueue('reports', StoreReportsJob, z.void()),
  /** Firings of schedules (BullMQ job schedulers → schedule runner). */
  schedules: defineQueue('schedules', ScheduleFireJob, ScheduleFireResult),
  /** Chat notifications to post (API and orchestrator → notification worker). */
  notifications: defineQueue('notifications', NotifyJob, z.void()),
} as const;

/**
 * Each node agent's own queue of captures (orchestrator → the agent on `node`); the outcome is the job's return
 * value. BullMQ forbids ':' in queue names, so the design's "capture:<node>" is spelled "capture-<node>".
 */
export const captureQueue = (node: string) => defineQueue(`capture-${node}`, CaptureJob, CaptureOutcome);

/** What a producer adds and a worker returns (input types: defaults are applied where the job is parsed). */
export type DataIn<S extends QueueSpec> = z.input<S['data']>;
export type ResultIn<S extends QueueSpec> = z.input<S['result']>;

export type QueueOf<S extends QueueSpec> = Queue<DataIn<S>, ResultIn<S>>;
export type JobOf<S extends QueueSpec> = Job<DataIn<S>, ResultIn<S>>;
export type WorkerOf<S extends QueueSpec> = Worker<DataIn<S>, ResultIn<S>>;

/**
 * The part of a queue a producer uses (add jobs, look one up, manage job schedulers): what a BullMQ Queue has
 * (open.ts), and what `openProducer` (producer.ts) gives without loading BullMQ until the first call.
 */
export type ProducerOf<S extends QueueSpec> = Pick<QueueOf<S>, 'add' | 'getJob' | 'upsertJobScheduler' | 'removeJobScheduler' | 'getJobScheduler' | 'close'>;

/** Where queues live: a Redis connection and the key prefix (QUEUE_PREFIX). */
export interface QueueConnection {
  connection: Redis;
  prefix: string;
}

/**
 * What a worker does with one job. `data` is the job's data parsed by its queue's schema, defaults applied: agents
 * of another version, a restarted orchestrator's older jobs and anyone with Redis access can add jobs, so the data
 * is checked before use; data that does not parse fails the job without running it.
 */
export type JobHandler<S extends QueueSpec> = (data: z.output<S['data']>, job: JobOf<S>, token?: string) => Promise<ResultIn<S>>;
