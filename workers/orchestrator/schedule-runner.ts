import type { Logger } from 'pino';
import type { AuditLog } from '../../src/audit/audit-log.ts';
import { identity } from '../../src/auth/identity.ts';
import { startInvestigation, type IntakeDeps } from '../../src/intake/start.ts';
import { startWorker } from '../../src/queue/open.ts';
import { QUEUES, type ProducerOf } from '../../src/queue/queues.ts';
import { createRedis, type RedisTarget } from '../../src/redis/connection.ts';
import type { ScheduleStore } from '../../src/schedules/schedule-store.ts';
import { metrics } from '../../src/metrics.ts';
import { startSweepMetrics } from './sweep-metrics.ts';

/**
 * Turns each firing of a BullMQ job scheduler into a normal investigation, requested by `schedule:<name>`.
 * The schedule was authorized when it was created; firings pass the same checks again (a pod may be gone).
 */
export function startScheduleRunner(opts: {
  redis: RedisTarget;
  prefix: string;
  schedules: ScheduleStore;
  schedulesQueue: ProducerOf<typeof QUEUES.schedules>;
  intake: IntakeDeps;
  audit: AuditLog;
  log: Logger;
  /** Pods per node with kernel series of their own on /metrics (SWEEP_METRICS_TOP_PODS); the rest are `_other`. */
  sweepMetricsTopPods?: number;
}): { close(): Promise<void> } {
  const log = opts.log.child({ part: 'schedules' });
  // The sweeps these schedules run are exported per pod on this process's /metrics.
  const sweepMetrics = startSweepMetrics({
    schedules: opts.schedules,
    records: opts.intake.records,
    inventory: opts.intake.inventory,
    topPods: opts.sweepMetricsTopPods ?? 20,
    registry: metrics,
    log: opts.log,
  });
  const connection = createRedis(opts.redis);
  const worker = startWorker(
    QUEUES.schedules,
    async ({ schedule: name }) => {
      const s = await opts.schedules.get(name);
      if (!s) {
        // Deleted between its last tick and this one: make sure it stops ticking.
        await opts.schedulesQueue.removeJobScheduler(name).catch(() => undefined);
        return { skipped: 'schedule deleted' };
      }
      const who = identity(`schedule:${s.name}`, ['investigations:write']);
      try {
        const inv = await startInvestigation(opts.intake, who, { playbook: s.playbook, ...(s.target ? { target: s.target } : {}), params: s.params }, {
          schedule: s.name,
          notify: s.notify ? [{ kind: 'slack-webhook', url: s.notify.slackWebhookUrl, when: s.notify.when }] : [],
        });
        await opts.schedules.recordRun(s.name, inv.id);
        await opts.audit.append({ actor: who.requestedBy, action: 'schedule.fire', subject: s.name, detail: { investigation: inv.id } });
        log.info({ schedule: s.name, investigation: inv.id }, 'schedule fired');
        return { investigation: inv.id };
      } catch (err) {
        await opts.audit.append({ actor: who.requestedBy, action: 'schedule.fire', subject: s.name, detail: { error: (err as Error).message } });
        log.warn({ err, schedule: s.name }, 'scheduled investigation could not start');
        throw err;
      }
    },
    { connection, prefix: opts.prefix, concurrency: 4 },
  );
  worker.on('error', (err) => log.error({ err }, 'schedule worker error'));
  return {
    async close() {
      sweepMetrics.close();
      await worker.close();
      await connection.quit();
    },
  };
}
