/** The orchestrator process: the orchestrator, the schedule runner and the notification worker. */
import { intakeDeps, publicBaseUrl } from './intake.ts';
import { openRedisParts } from './redis-parts.ts';
import type { Services } from './services.ts';
import type { TokenEntry } from '../src/auth/tokens.ts';
import type { Logger } from 'pino';
import { startOrchestrator } from '../workers/orchestrator/orchestrator.ts';
import { chainIdentity } from '../workers/orchestrator/chain.ts';
import { ForbiddenError } from '../src/core/errors.ts';
import { startInvestigation } from '../src/intake/start.ts';
import { BASELINE_SWEEPS } from '../src/sweeps/against.ts';
import { LinkSigner } from '../src/auth/signed-links.ts';
import type { Config } from '../src/config.ts';
import { startNotificationWorker } from '../workers/orchestrator/notification-worker.ts';
import { slackApiOf } from '../src/notify/slack-api.ts';
import { startScheduleRunner } from '../workers/orchestrator/schedule-runner.ts';
import type { Stoppable } from '../src/stoppable.ts';

/** The playbook whose scheduled runs are a node's usual figures (triage compares with them). */
const HEALTH_SWEEP = 'health-sweep';

/** The orchestrator with what runs beside it: the schedule runner and the notification worker. */
/**
 * `apiTokens`: the tokens of an API running in this process (`tracehound start`), which may include the admin token
 * it generated for the run and no access file holds: a chained investigation starts as its requester, so the
 * orchestrator must know that token too (chain.ts).
 */
export async function startOrchestratorPart(
  config: Config,
  services: Services,
  log: Logger,
  opts: { publicUrl?: string; apiTokens?: TokenEntry[] } = {},
): Promise<Stoppable> {
  const access = opts.apiTokens ? { ...services.access, tokens: opts.apiTokens } : services.access;
  const parts = openRedisParts(config, services, log.child({ part: 'schedules' }));
  const { redis, records, audit, investigations, notifyTargets, notifier, schedules, schedulesQueue } = parts;
  // Chained investigations pass the requester's rate limit like any other request of theirs.
  const chainIntake = intakeDeps(config, services, redis, { records, investigations, audit, notifyTargets }, log, true);
  const o = await startOrchestrator({
    playbooks: services.playbooks,
    inventory: services.inventory,
    redis: services.redis,
    prefix: config.QUEUE_PREFIX,
    store: services.store,
    log,
    reaperIntervalMs: config.REAPER_INTERVAL,
    hooks: {
      changed: (id, event) => notifier.changed(id, event),
      wantsThumbnails: (id) => notifyTargets.has(id),
      previousRuns: async (inv) => {
        const ids = inv.schedule ? await schedules.previousRuns(inv.schedule, inv.id, 5) : [];
        const found = await Promise.all(ids.map((id) => records.find(id)));
        return found.filter((x): x is NonNullable<typeof x> => x !== null && x.status === 'succeeded');
      },
      healthSweeps: async (inv) => {
        const sweeps = (await schedules.list()).filter((s) => s.playbook === HEALTH_SWEEP);
        const ids = (await Promise.all(sweeps.map((s) => schedules.previousRuns(s.name, inv.id, BASELINE_SWEEPS)))).flat();
        const found = await Promise.all(ids.map((id) => records.find(id)));
        return found.filter((x): x is NonNullable<typeof x> => x !== null && x.status === 'succeeded');
      },
      chain: async (from, playbook) => {
        const who = chainIdentity(access, from.requestedBy);
        if (!who) throw new ForbiddenError(`${from.requestedBy} cannot be judged without its request: not chained`);
        return startInvestigation(chainIntake, who, { playbook, ...(from.target ? { target: from.target } : {}), params: {} }, { chainedFrom: from.id, detail: { chainedFrom: from.id } });
      },
    },
  });
  const runner = startScheduleRunner({
    redis: services.redis,
    prefix: config.QUEUE_PREFIX,
    schedules,
    schedulesQueue,
    intake: intakeDeps(config, services, redis, { records, investigations, audit, notifyTargets }, log, false),
    audit,
    log,
    sweepMetricsTopPods: config.SWEEP_METRICS_TOP_PODS,
  });
  const notifications = startNotificationWorker({
    redis: services.redis,
    prefix: config.QUEUE_PREFIX,
    records,
    targets: notifyTargets,
    links: new LinkSigner(services.linkSecret, publicBaseUrl(config, opts.publicUrl), config.LINK_TTL / 1000),
    allowedHosts: config.NOTIFY_URL_HOSTS,
    slack: slackApiOf(config),
    timeoutMs: config.NOTIFY_TIMEOUT,
    log,
  });
  return {
    name: 'orchestrator',
    stop: async () => {
      await runner.close();
      await notifications.close();
      await o.close();
      await parts.close();
    },
  };
}
