import type { AlertmanagerPayload } from '../../alerts/payload.ts';
import { labelValue } from '../../alerts/rules.ts';
import { alertFiringMessage, alertResolvedMessage } from '../../chatops/thread-messages.ts';
import type { Investigation } from '../../core/investigation.ts';
import { followUpLater } from '../../notify/follow-up.ts';
import type { ApiDeps } from '../deps.ts';
import { chatMessage } from './slack-reply.ts';

/** How long a delivery waits for another one that is posting the group's top-level message right now. */
const WAIT_FOR_OPENING_MS = 5000;

/** Go's zero time, which Alertmanager sends as endsAt when an alert has none. */
const isSet = (t: string) => !t.startsWith('0001-');

function earliest(times: readonly string[]): Date | undefined {
  const ms = times.filter(isSet).map((t) => Date.parse(t)).filter(Number.isFinite);
  return ms.length ? new Date(Math.min(...ms)) : undefined;
}

function latest(times: readonly string[]): Date | undefined {
  const ms = times.filter(isSet).map((t) => Date.parse(t)).filter(Number.isFinite);
  return ms.length ? new Date(Math.max(...ms)) : undefined;
}

/**
 * An alert group's investigations go to ALERT_SLACK_CHANNEL under one top-level post per group (Alertmanager's
 * groupKey): the first delivery that starts something posts it, and every investigation of the group, this one's
 * and those of later deliveries, answers in its thread.
 *
 * Re-fired alerts of the group (a new occurrence: Alertmanager sends a new startsAt, and the route starts a new
 * investigation) reply in the thread with that investigation's result, since it is new evidence about the same
 * incident; a repeat of the same occurrence (repeat_interval, the HA twin) starts nothing, so it posts nothing.
 * A group that fires again after it resolved is a new incident: it gets a new top-level post.
 */
export async function postFiring(deps: ApiDeps, channel: string, payload: AlertmanagerPayload, started: readonly Investigation[]): Promise<void> {
  const slack = deps.slackApi;
  if (!slack || started.length === 0) return;
  const threads = deps.alertThreads;
  const claim = await threads.claim(payload.groupKey);
  let thread = claim.kind === 'open' ? claim.thread : undefined;
  if (claim.kind === 'opening') thread = await threads.waitOpen(payload.groupKey, WAIT_FOR_OPENING_MS);
  if (claim.kind === 'claimed') {
    const firing = payload.alerts.filter((a) => a.status === 'firing');
    const names = [...new Set(payload.alerts.map((a) => labelValue(a.labels, 'alertname')).filter((n): n is string => n !== undefined))];
    const message = alertFiringMessage({ alertnames: names, alerts: firing.length || payload.alerts.length, groupLabels: payload.groupLabels, started });
    try {
      const posted = await slack.postMessage(channel, chatMessage(message));
      thread = { channel: posted.channel, ts: posted.ts, firedAt: (earliest(firing.map((a) => a.startsAt)) ?? new Date()).toISOString() };
      await threads.open(payload.groupKey, thread);
    } catch (err) {
      // Given back, so the group's next delivery tries again; these investigations still reach any webhook.
      await threads.abandon(payload.groupKey);
      deps.log.warn({ err, groupKey: payload.groupKey }, 'could not post the alert group to Slack');
      return;
    }
  }
  if (!thread) {
    deps.log.warn({ groupKey: payload.groupKey }, 'the alert group thread was not opened in time; results of this delivery go to no thread');
    return;
  }
  const parts = { notifyTargets: deps.intake.notifyTargets, records: deps.intake.records, notifier: deps.notifier };
  for (const inv of started) {
    await threads.addInvestigation(payload.groupKey, inv.id);
    await followUpLater(parts, inv.id, { kind: 'slack-thread', channel: thread.channel, threadTs: thread.ts });
  }
}

/** The group resolved: one follow-up in its thread, saying when, after how long, and what was found. */
export async function postResolved(deps: ApiDeps, payload: AlertmanagerPayload): Promise<void> {
  const slack = deps.slackApi;
  if (!slack) return;
  // A delivery posting the group's top-level message right now: its thread is the one to follow up in.
  await deps.alertThreads.waitOpen(payload.groupKey, WAIT_FOR_OPENING_MS);
  const resolvedAt = latest(payload.alerts.map((a) => a.endsAt)) ?? new Date();
  const group = await deps.alertThreads.resolve(payload.groupKey, resolvedAt);
  if (!group) return; // no thread (nothing was investigated), or its resolution was already posted
  const found = await Promise.all(group.investigations.map((id) => deps.intake.records.find(id)));
  const message = alertResolvedMessage({
    firedAt: new Date(group.thread.firedAt),
    resolvedAt,
    investigations: found.filter((i): i is Investigation => i !== null),
    missing: group.investigations.filter((_id, i) => found[i] === null),
  });
  try {
    await slack.postMessage(group.thread.channel, chatMessage(message), group.thread.ts);
  } catch (err) {
    await deps.alertThreads.reopen(payload.groupKey);
    deps.log.warn({ err, groupKey: payload.groupKey }, 'could not post the alert group resolution to Slack');
  }
}
