import type { Logger } from 'pino';
import type { Config } from '../../src/config.ts';
import { isTerminal } from '../../src/core/investigation.ts';
import { NodeRegistry } from '../../src/inventory/node-registry.ts';
import { createRedis, type RedisTarget } from '../../src/redis/connection.ts';
import { InvestigationRecords } from '../../src/records/investigation-records.ts';
import { openQueue, startWorker } from '../../src/queue/open.ts';
import { QUEUES, captureQueue } from '../../src/queue/queues.ts';
import type { ArtifactStore } from '../../src/storage/artifact-store.ts';
import { AGENT_VERSION } from '../../src/version.ts';
import { captureSeconds, captures } from '../../src/metrics.ts';
import { detectCapabilities, type Capabilities } from './capabilities.ts';
import { defaultBpfStats, restoreBpfStatsLeftByDeadAgent } from './bpf-stats.ts';
import { executeCapture } from './capture.ts';
import { restoreFtraceLeftByDeadAgent } from './ftrace-recovery.ts';
import { ArtifactSpool, spoolDir } from './spool.ts';
import { startSpoolFlusher } from './spool-flusher.ts';

export interface NodeAgent {
  name: string;
  capabilities: Capabilities;
  close(): Promise<void>;
}

type AgentConfig = Pick<
  Config,
  'NODE_NAME' | 'QUEUE_PREFIX' | 'CGROUP_ROOT' | 'TRACEFS' | 'BPFTRACE' | 'BPFTRACE_MAP_KEYS_MAX' | 'AGENT_CONCURRENCY' | 'CAPTURE_KILL_GRACE' | 'CAPTURE_MAX_DURATION' | 'CAPTURE_STARTUP_TIMEOUT' | 'NODE_HEARTBEAT'
  | 'DATA_DIR' | 'AGENT_SPOOL_DIR' | 'AGENT_SPOOL_MAX' | 'CAPTURE_COST_BUDGET'
>;

/** One per node: consumes capture-<node>, runs captures time-boxed, stops them at once when their investigation is cancelled. */
export async function startNodeAgent(opts: { config: AgentConfig; redis: RedisTarget; store: ArtifactStore; log: Logger }): Promise<NodeAgent> {
  const { config, store } = opts;
  const log = opts.log.child({ part: 'agent', node: config.NODE_NAME });
  const capabilities = await detectCapabilities({ tracefs: config.TRACEFS, bpftrace: config.BPFTRACE, cgroupRoot: config.CGROUP_ROOT });
  log.info({ capabilities }, 'node capabilities');
  if (!capabilities.bpftrace.available) log.warn({ reason: capabilities.bpftrace.reason }, 'bpftrace unavailable: captures will fail with this reason');
  // Before taking work: a previous agent killed mid-funcgraph left this node's tracefs changed.
  await restoreFtraceLeftByDeadAgent(log);
  // ... and kernel.bpf_stats_enabled on, which every BPF program of the node pays for until it is put back.
  restoreBpfStatsLeftByDeadAgent(log);

  const redis = createRedis(opts.redis);
  const subscriber = createRedis(opts.redis);
  const records = new InvestigationRecords(redis, config.QUEUE_PREFIX);
  const registry = new NodeRegistry(redis, config.QUEUE_PREFIX);
  // What storage did not take (this run's, and a previous run's left on disk) is uploaded in the background and
  // announced to the orchestrator as late artifacts.
  const spool = await ArtifactSpool.open({ dir: spoolDir(config), maxBytes: config.AGENT_SPOOL_MAX, log });
  const lateArtifacts = openQueue(QUEUES.lateArtifacts, { connection: redis, prefix: config.QUEUE_PREFIX });
  const flusher = startSpoolFlusher({ spool, store, lateArtifacts, log });

  const running = new Map<string, Set<AbortController>>();
  await subscriber.subscribe(records.cancelChannel);
  subscriber.on('message', (_channel: string, id: string) => {
    for (const ac of running.get(id) ?? []) ac.abort();
  });

  const beat = () =>
    registry
      .heartbeat(
        { name: config.NODE_NAME, labels: {}, kernel: capabilities.kernel, agentVersion: AGENT_VERSION, capabilities },
        config.NODE_HEARTBEAT * 3,
      )
      .catch((err: unknown) => log.warn({ err }, 'heartbeat failed'));
  await beat();
  const heartbeat = setInterval(beat, config.NODE_HEARTBEAT);

  const workerConnection = createRedis(opts.redis);
  // The per-node cap holds across agents too (two agents started under one node name must not double it):
  // overlapping captures skew each other's figures and add up in overhead.
  const ownQueue = openQueue(captureQueue(config.NODE_NAME), { connection: workerConnection, prefix: config.QUEUE_PREFIX });
  await ownQueue.setGlobalConcurrency(config.AGENT_CONCURRENCY);
  await ownQueue.close();
  const worker = startWorker(
    captureQueue(config.NODE_NAME),
    async (data) => {
      const ac = new AbortController();
      const set = running.get(data.investigationId) ?? new Set();
      running.set(data.investigationId, set.add(ac));
      try {
        // A cancel published before this job became active was missed by the subscriber: check the flag too.
        if (await records.isCancelRequested(data.investigationId)) ac.abort();
        // A job left on this node's queue while the agent was away belongs to an investigation that has moved on.
        const record = await records.find(data.investigationId);
        if (!record || isTerminal(record.status)) {
          const at = new Date().toISOString();
          return { stepId: data.stepId, node: data.node, status: 'cancelled', reason: 'investigation already ended', startedAt: at, finishedAt: at, artifacts: [] };
        }
        log.info({ investigation: data.investigationId, step: data.stepId, tool: data.tool, durationMs: data.durationMs }, 'capture start');
        const t0 = performance.now();
        const outcome = await executeCapture(
          data,
          {
            store,
            capabilities,
            cgroupRoot: config.CGROUP_ROOT,
            bpftrace: config.BPFTRACE,
            mapKeysMax: config.BPFTRACE_MAP_KEYS_MAX,
            killGraceMs: config.CAPTURE_KILL_GRACE,
            startupMs: config.CAPTURE_STARTUP_TIMEOUT,
            maxDurationMs: config.CAPTURE_MAX_DURATION,
            costBudget: config.CAPTURE_COST_BUDGET,
            spool,
            log,
          },
          ac.signal,
        );
        log.info({ investigation: data.investigationId, step: data.stepId, status: outcome.status, reason: outcome.reason }, 'capture end');
        captures.inc({ tool: data.tool, status: outcome.status });
        captureSeconds.observe({ tool: data.tool }, (performance.now() - t0) / 1000);
        return outcome;
      } finally {
        set.delete(ac);
        if (set.size === 0) running.delete(data.investigationId);
      }
    },
    {
      connection: workerConnection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.AGENT_CONCURRENCY,
      // A capture is bounded by CAPTURE_MAX_DURATION plus the kill grace; the lock must outlive it comfortably.
      lockDuration: 30_000,
    },
  );
  worker.on('error', (err) => log.error({ err }, 'capture worker error'));

  return {
    name: config.NODE_NAME,
    capabilities,
    async close() {
      clearInterval(heartbeat);
      for (const set of running.values()) for (const ac of set) ac.abort();
      await worker.close();
      // This agent's captures have ended: kernel.bpf_stats_enabled goes back to what it was before the first, unless
      // another agent of this process still runs one (its end puts it back; process exit does in any case).
      if (defaultBpfStats.inUse === 0) defaultBpfStats.restore();
      await registry.remove(config.NODE_NAME).catch(() => undefined);
      await flusher.close();
      await lateArtifacts.close();
      await workerConnection.quit();
      await subscriber.quit();
      await redis.quit();
    },
  };
}
