import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { newInvestigationId } from '../../src/core/ids.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import type { Playbook } from '../../src/playbooks/playbook.ts';
import { NodeRegistry } from '../../src/inventory/node-registry.ts';
import { createLogger } from '../../src/log.ts';
import { loadPlaybooks } from '../../src/playbooks/load.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { InvestigationRecords } from '../../src/records/investigation-records.ts';
import type { CaptureJob, CaptureReply } from '../../src/queue/jobs.ts';
import { openQueue, startWorker } from '../../src/queue/open.ts';
import { QUEUES, captureQueue } from '../../src/queue/queues.ts';
import type { ArtifactStore } from '../../src/storage/artifact-store.ts';
import { startOrchestrator, type Orchestrator } from '../../workers/orchestrator/orchestrator.ts';
import { testRedisUrl, uniquePrefix } from './services.ts';

/**
 * A real orchestrator (startOrchestrator) on the run's Redis in a queue prefix of its own, with what a test needs
 * around it: records, the investigations queue, node heartbeats and stand-in agents that answer capture jobs with
 * the outcome the test chooses, so storage faults and lost jobs can be staged without BPF.
 */
export interface OrchestratorHarness {
  prefix: string;
  redis: Redis;
  records: InvestigationRecords;
  investigations: Queue;
  playbooks: readonly Playbook[];
  /** Ids the orchestrators said ended ('final' notifications), in order. */
  finals: string[];
  start(opts: { store: ArtifactStore; reaperIntervalMs?: number }): Promise<Orchestrator>;
  /** Closes one started orchestrator (as a clean shutdown; close() closes the rest). */
  stop(o: Orchestrator): Promise<void>;
  /** Closes every orchestrator still started: after a test, so one that failed half way leaves none to take the next one's jobs. */
  stopAll(): Promise<void>;
  /** Heartbeats `node` as a live agent (until close). */
  liveNode(node: string): Promise<void>;
  /** Answers `node`'s capture jobs with `answer`. */
  agent(node: string, answer: (job: CaptureJob) => Promise<CaptureReply>): Worker;
  /** Records and queues an investigation as intake does (the record first, then its job). */
  investigate(playbook: string, target: Investigation['target'], params?: Record<string, unknown>): Promise<string>;
  waitFor(id: string, until: (inv: Investigation) => boolean, timeoutMs?: number): Promise<Investigation>;
  close(): Promise<void>;
}

export async function orchestratorHarness(label: string): Promise<OrchestratorHarness> {
  const prefix = uniquePrefix(label);
  const redis = createRedis(testRedisUrl());
  const records = new InvestigationRecords(redis, prefix);
  const investigations = openQueue(QUEUES.investigations, { connection: redis, prefix });
  const registry = new NodeRegistry(redis, prefix);
  const playbooks = await loadPlaybooks();
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const finals: string[] = [];
  const started: Orchestrator[] = [];
  const workers: { worker: Worker; connection: Redis }[] = [];
  const beats: NodeJS.Timeout[] = [];

  const waitFor: OrchestratorHarness['waitFor'] = async (id, until, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const inv = await records.find(id);
      if (inv && until(inv)) return inv;
      if (Date.now() > deadline) throw new Error(`timed out waiting on ${id}: ${JSON.stringify(inv).slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  return {
    prefix,
    redis,
    records,
    investigations,
    playbooks,
    finals,
    async start({ store, reaperIntervalMs }) {
      const o = await startOrchestrator({
        playbooks,
        inventory: null,
        redis: testRedisUrl(),
        prefix,
        store,
        log,
        watchdogIntervalMs: 200,
        ...(reaperIntervalMs !== undefined ? { reaperIntervalMs } : {}),
        hooks: {
          changed: async (id, event) => {
            if (event === 'final') finals.push(id);
          },
        },
      });
      started.push(o);
      return o;
    },
    async stop(o) {
      started.splice(started.indexOf(o), 1);
      await o.close();
    },
    async stopAll() {
      for (const o of started.splice(0)) await o.close();
    },
    async liveNode(node) {
      const beat = () => registry.heartbeat({ name: node, labels: {}, kernel: '6.1.0', agentVersion: 'test', capabilities: {} }, 3000);
      await beat();
      beats.push(setInterval(() => void beat().catch(() => undefined), 1000));
    },
    agent(node, answer) {
      const connection = createRedis(testRedisUrl());
      const worker = startWorker(captureQueue(node), answer, { connection, prefix });
      workers.push({ worker, connection });
      return worker;
    },
    async investigate(playbook, target, params = {}) {
      const id = newInvestigationId();
      await records.create({ id, status: 'queued', playbook, ...(target ? { target } : {}), params, createdAt: new Date().toISOString(), requestedBy: 'token:test', steps: [], artifacts: [] });
      await investigations.add('investigate', { id }, { jobId: id });
      return id;
    },
    waitFor,
    async close() {
      for (const t of beats) clearInterval(t);
      for (const w of workers) {
        await w.worker.close();
        await w.connection.quit();
      }
      for (const o of started) await o.close();
      await investigations.close();
      await redis.quit();
    },
  };
}
