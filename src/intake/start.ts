import type { QUEUES, ProducerOf } from '../queue/queues.ts';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import { authorizeInvestigation, authorizeNode } from '../auth/authorize.ts';
import { hasScope, type Identity } from '../auth/identity.ts';
import { ForbiddenError, ServiceUnavailableError, UnsupportedTargetError, ValidationError } from '../core/errors.ts';
import { formatDurationMs } from '../core/duration.ts';
import { newInvestigationId } from '../core/ids.ts';
import type { Investigation, InvestigationRequest } from '../core/investigation.ts';
import type { Playbook } from '../playbooks/playbook.ts';
import type { Target } from '../core/target.ts';
import { parsePlaybookParams, routePlaybook } from '../playbooks/select.ts';
import type { Routing } from '../core/routing.ts';
import type { Inventory } from '../inventory/inventory.ts';
import { targetsPods } from '../inventory/inventory.ts';
import type { InvestigationRecords } from '../records/investigation-records.ts';
import type { NotifyTarget, NotifyTargets } from '../notify/targets.ts';
import { investigationsRefused, investigationsStarted, sourceOf } from '../metrics.ts';
import type { RequesterRateLimiter } from './rate-limit.ts';

/** Bounds that hold whatever a playbook allows: the fleet's budget for one capture. */
export interface CaptureLimits {
  maxDurationMs: number;
  maxHz: number;
}

export interface IntakeDeps {
  playbooks: readonly Playbook[];
  inventory: Inventory | null;
  records: InvestigationRecords;
  investigations: ProducerOf<typeof QUEUES.investigations>;
  audit: AuditLog;
  /** Where follow-ups go, registered before the job is queued so no event is missed. */
  notifyTargets: NotifyTargets;
  /** Null: no per-requester limit (schedules, which their interval already bounds). */
  limiter: RequesterRateLimiter | null;
  limits: CaptureLimits;
  log: Logger;
}

/**
 * The one door every investigation comes through, whoever asks (HTTP, Slack, Alertmanager, a schedule):
 * validate → authorize → rate-limit → record → enqueue → audit. Throws typed errors; nothing is recorded or
 * queued unless every check passed.
 */
export async function startInvestigation(
  deps: IntakeDeps,
  who: Identity,
  req: InvestigationRequest,
  opts: {
    schedule?: string;
    detail?: Record<string, unknown>;
    notify?: readonly NotifyTarget[];
    /** The investigation whose summary started this one as its next step (workers/orchestrator/chain.ts). */
    chainedFrom?: string;
  } = {},
): Promise<Investigation> {
  // The HTTP edge checks scopes per route; Slack, alerts and schedules come through here only.
  if (!hasScope(who, 'investigations:write')) throw new ForbiddenError(`${who.requestedBy} may read but not start investigations`);
  const { playbook, routing } = await checkRouted(deps, who, req);
  if (deps.limiter) {
    try {
      await deps.limiter.take(who.requestedBy);
    } catch (err) {
      investigationsRefused.inc({ source: sourceOf(who.requestedBy) });
      throw err;
    }
  }

  const id = newInvestigationId();
  const inv: Investigation = {
    id,
    status: 'queued',
    playbook: playbook.name,
    ...(req.symptom ? { symptom: req.symptom } : {}),
    routing,
    ...(req.target ? { target: req.target } : {}),
    params: req.params,
    createdAt: new Date().toISOString(),
    requestedBy: who.requestedBy,
    ...(opts.schedule ? { schedule: opts.schedule } : {}),
    ...(opts.chainedFrom ? { chainedFrom: opts.chainedFrom } : {}),
    steps: [],
    artifacts: [],
  };
  await deps.records.create(inv);
  try {
    for (const t of opts.notify ?? []) await deps.notifyTargets.add(id, t);
    await deps.investigations.add('investigate', { id }, { jobId: id, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 30 * 24 * 3600 } });
  } catch (err) {
    await deps.records.remove(id).catch(() => undefined);
    deps.log.error({ err }, 'enqueue failed');
    throw new ServiceUnavailableError('could not queue the investigation; try again');
  }
  await deps.audit.append({
    actor: who.requestedBy,
    action: 'investigation.start',
    subject: id,
    detail: { playbook: playbook.name, routing: { score: routing.score, confident: routing.confident, why: routing.why }, ...(req.target ? { target: req.target } : {}), ...(opts.detail ?? {}) },
  });
  investigationsStarted.inc({ playbook: playbook.name, source: sourceOf(who.requestedBy) });
  deps.log.info({ investigation: id, playbook: playbook.name, routing: routing.why, target: req.target, requestedBy: who.requestedBy }, 'investigation queued');
  return inv;
}

/**
 * Everything short of starting: playbook, parameters, capture limits, authorization and target resolution.
 * Schedules run it when created, so a schedule that could never start an investigation is refused up front.
 */
export async function checkInvestigation(deps: IntakeDeps, who: Identity, req: InvestigationRequest): Promise<Playbook> {
  return (await checkRouted(deps, who, req)).playbook;
}

/** checkInvestigation, with how the playbook was chosen (named, or routed from the symptom: src/playbooks/route.ts). */
async function checkRouted(deps: IntakeDeps, who: Identity, req: InvestigationRequest): Promise<{ playbook: Playbook; routing: Routing }> {
  const { playbook, routing } = routePlaybook(deps.playbooks, req);
  checkLimits(parsePlaybookParams(playbook, req.params), deps.limits);
  if (!req.target && !playbook.fleetWide) {
    throw new ValidationError('a target is required', [{ path: 'target', message: `${playbook.name} needs a target; only fleet-wide playbooks run without one` }]);
  }
  authorizeInvestigation(who, playbook.name, req.target);
  // After authorization, so a namespace-limited identity naming a cgroup hears 403 (not allowed at all), not 400.
  if (req.target) refuseAmbiguousTarget(req.target);
  if (req.target && targetsPods(req.target) && deps.inventory?.kind !== 'kubernetes') {
    throw new UnsupportedTargetError(
      'pod, namespace and labelSelector targets need the Kubernetes inventory, which is not configured on this server; target a node, cgroup or pid',
    );
  }
  // Unknown pods, hosts and selectors matching nothing are the caller's error, answered now (404), not in a failed step later.
  if (req.target && deps.inventory) {
    // A limited identity's node is judged against where its pods run, so resolve them without it: with it, a node
    // beside the pods would be a 404 ("not on node x"), which tells nothing about why it may not be named.
    const { node, ...pods } = req.target;
    const judgeNode = who.namespaces !== null && node !== undefined && targetsPods(req.target);
    authorizeNode(who, req.target, await deps.inventory.resolve(judgeNode ? pods : req.target));
  }
  return { playbook, routing };
}

/**
 * Pods (pod, namespace, labelSelector) and a cgroup together ask for two sets; the capture covers exactly the
 * pods' cgroups, so the cgroup would be silently dropped (or, as it once was, silently added). Say so instead.
 */
function refuseAmbiguousTarget(target: Target): void {
  if (targetsPods(target) && target.cgroup !== undefined) {
    throw new ValidationError('a target names pods or a cgroup, not both', [
      { path: 'target.cgroup', message: "not allowed with pod, namespace or labelSelector: the capture covers exactly the pods' cgroups" },
    ]);
  }
}

/** Playbooks bound their own parameters; these bounds hold for all of them (`duration` and `hz` by convention). */
function checkLimits(params: Record<string, unknown>, limits: CaptureLimits): void {
  const errors: { path: string; message: string }[] = [];
  if (typeof params.duration === 'number' && params.duration > limits.maxDurationMs) {
    errors.push({ path: 'params.duration', message: `at most ${formatDurationMs(limits.maxDurationMs)} on this server` });
  }
  if (typeof params.hz === 'number' && params.hz > limits.maxHz) {
    errors.push({ path: 'params.hz', message: `at most ${limits.maxHz} Hz on this server` });
  }
  if (errors.length) throw new ValidationError('parameters exceed the server\'s capture limits', errors);
}
