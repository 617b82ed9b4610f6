import type { Logger } from 'pino';
import { isTerminal } from '../../src/core/investigation.ts';
import { mergeLateArtifacts } from '../../src/core/record-artifacts.ts';
import { createRedis, type RedisTarget } from '../../src/redis/connection.ts';
import type { InvestigationRecords } from '../../src/records/investigation-records.ts';
import type { LateArtifactsJob } from '../../src/queue/jobs.ts';
import { startWorker } from '../../src/queue/open.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { artifactKey, isSafeArtifactName } from '../../src/storage/keys.ts';
import type { ReportRequests } from './reports.ts';

/**
 * Artifacts an agent stored after its capture ended (they waited in its spool while storage was away), merged into
 * the record through a compare-and-set, so a step being recorded at the same moment loses nothing. An ended
 * investigation's report is stored again, since it lists them (and shows a late flamegraph).
 */
export function startLateArtifactsWorker(opts: { redis: RedisTarget; prefix: string; records: InvestigationRecords; reports: ReportRequests; log: Logger }): { close(): Promise<void> } {
  const log = opts.log.child({ part: 'late-artifacts' });
  const process = async (late: LateArtifactsJob) => {
    // The queue is a trust boundary: an agent may only add its own step's outputs, under their own keys.
    const own = `${late.stepId}/${late.node}/`;
    const artifacts = late.artifacts.filter((a) => a.name.startsWith(own) && isSafeArtifactName(a.name) && a.key === artifactKey(late.investigationId, a.name));
    if (artifacts.length < late.artifacts.length) log.warn({ investigation: late.investigationId, step: late.stepId, node: late.node }, 'ignored late artifacts of another step or key');
    if (artifacts.length === 0) return;
    const next = await opts.records.update(late.investigationId, (cur) => mergeLateArtifacts(cur, { ...late, artifacts }, Date.now()));
    if (!next) return;
    log.info({ investigation: next.id, step: late.stepId, node: late.node, artifacts: artifacts.map((a) => a.name) }, 'late artifacts recorded');
    if (isTerminal(next.status)) await opts.reports.request({ investigationId: next.id });
  };
  const connection = createRedis(opts.redis);
  const worker = startWorker(QUEUES.lateArtifacts, process, { connection, prefix: opts.prefix, concurrency: 4 });
  worker.on('error', (err) => log.error({ err }, 'late artifacts worker error'));
  worker.on('failed', (job, err) => log.warn({ err: err.message, job: job?.data }, 'could not record late artifacts'));
  return {
    async close() {
      await worker.close();
      await connection.quit();
    },
  };
}
