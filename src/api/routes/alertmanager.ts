import { z } from 'zod';
import { AlertmanagerPayload } from '../../alerts/payload.ts';
import { planInvestigations, type SkippedAlert } from '../../alerts/plan.ts';
import { bearerToken, sameSecret } from '../../auth/credentials.ts';
import { hasScope, identity, type Identity } from '../../auth/identity.ts';
import { findToken } from '../../auth/tokens.ts';
import { ForbiddenError, ServiceUnavailableError, TracehoundError, UnauthorizedError } from '../../core/errors.ts';
import type { Investigation } from '../../core/investigation.ts';
import { startInvestigation } from '../../intake/start.ts';
import type { AlertmanagerSettings, ApiDeps } from '../deps.ts';
import { defineRoute, jsonResponse, problemResponse } from '../route.ts';
import { postFiring, postResolved } from './alert-threads.ts';

/** Alertmanager re-sends until it gets a 2xx and HA pairs both send: an occurrence is acted on once for this long. */
const DEDUPE_TTL_SEC = 7 * 24 * 3600;

/**
 * Who delivers the notification: Alertmanager's own http_config credential (bearer or basic, as configured), or an
 * API token with alerts:write. The identity names the credential and carries its limits; nothing in the payload
 * (the receiver is the sender's own say-so) can change who it is, what it may target or whose rate it spends.
 * Null: no credential that checks out (401). A token without alerts:write is a 403.
 */
async function alertIdentity(settings: AlertmanagerSettings, header: string | undefined, deps: ApiDeps): Promise<Identity | null> {
  if (!header) return null;
  // Starting what the rules plan is what delivering alerts means, so the credential may start investigations.
  const scopes = ['alerts:write', 'investigations:write'] as const;
  const bearer = bearerToken(header);
  if (bearer !== undefined) {
    if (settings.bearerToken && sameSecret(bearer, settings.bearerToken)) return identity('alertmanager:bearer', scopes);
    const entry = findToken(deps.auth.tokens, bearer);
    if (!entry) return null;
    const limits = { namespaces: entry.namespaces ?? null, playbooks: entry.playbooks ?? null };
    const token = identity(`token:${entry.name}`, entry.scopes, limits);
    if (!hasScope(token, 'alerts:write')) {
      await deps.intake.audit.append({ actor: token.requestedBy, action: 'access.denied', subject: 'POST /v1/webhooks/alertmanager', detail: { needs: 'alerts:write' } });
      throw new ForbiddenError(`${token.requestedBy} lacks the alerts:write scope this route needs`);
    }
    return identity(token.requestedBy, scopes, limits);
  }
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header)?.[1];
  if (basic !== undefined && settings.basicAuth) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const { username, password } = settings.basicAuth;
    if (sameSecret(decoded, `${username}:${password}`)) return identity(`alertmanager:basic:${username}`, scopes);
  }
  return null;
}

const AlertRef = z.object({ fingerprint: z.string(), alertname: z.string().optional() });

/** What became of each alert of a delivery. */
const DeliveryOutcome = z.object({
  started: z.array(AlertRef.extend({ id: z.string(), rule: z.string() })),
  duplicates: z.array(AlertRef),
  skipped: z.array(AlertRef.extend({ reason: z.string() }) satisfies z.ZodType<SkippedAlert>),
  failed: z.array(AlertRef.extend({ rule: z.string(), status: z.number().int(), reason: z.string() })),
});
type DeliveryOutcome = z.infer<typeof DeliveryOutcome>;

export const alertmanagerRoutes = [
  defineRoute({
    method: 'POST',
    path: '/v1/webhooks/alertmanager',
    access: 'alertmanager',
    summary: 'Prometheus Alertmanager webhook (version 4); rules map alerts to playbooks and targets',
    body: { schema: AlertmanagerPayload, mediaType: 'application/json', invalid: 'invalid Alertmanager payload', expected: 'an Alertmanager webhook payload' },
    responses: {
      200: jsonResponse('started, duplicates, skipped and failed alerts', DeliveryOutcome),
      401: problemResponse('bad credentials'),
      403: problemResponse('an API token without alerts:write'),
      503: problemResponse('not configured'),
    },
    handle: async (c, input, deps) => {
      const settings = deps.alertmanager;
      if (!settings) throw new ServiceUnavailableError('the Alertmanager webhook is not configured on this server (ALERT_RULES_FILE)');
      const who = await alertIdentity(settings, c.req.header('authorization'), deps);
      if (!who) {
        c.header('WWW-Authenticate', 'Basic realm="tracehound", Bearer realm="tracehound"');
        throw new UnauthorizedError('Alertmanager credentials missing or wrong (see ALERTMANAGER_BEARER_TOKEN / ALERTMANAGER_BASIC_AUTH, or an API token with alerts:write)');
      }
      const payload = await input.body();
      const plan = planInvestigations(payload, settings.rules);
      await deps.intake.audit.append({
        actor: who.requestedBy,
        action: 'alert.receive',
        subject: payload.groupKey,
        detail: { receiver: payload.receiver, status: payload.status, alerts: payload.alerts.length, planned: plan.planned.length },
      });

      const out: DeliveryOutcome = { started: [], duplicates: [], skipped: plan.skipped, failed: [] };
      const started: Investigation[] = [];
      for (const p of plan.planned) {
        const ref = { fingerprint: p.alert.fingerprint, ...(p.alert.alertname ? { alertname: p.alert.alertname } : {}) };
        if (!(await deps.once.claim('alert', p.dedupeKey, DEDUPE_TTL_SEC))) {
          out.duplicates.push(ref);
          continue;
        }
        try {
          const inv = await startInvestigation(deps.intake, who, p.request, {
            detail: { via: 'alertmanager', receiver: payload.receiver, rule: p.rule, ...ref },
            notify: settings.slackWebhookUrl ? [{ kind: 'slack-webhook', url: settings.slackWebhookUrl, when: 'always' }] : [],
          });
          await deps.once.set('alert', p.dedupeKey, inv.id, DEDUPE_TTL_SEC);
          out.started.push({ id: inv.id, rule: p.rule, ...ref });
          started.push(inv);
        } catch (err) {
          // Not acted on: a later delivery of the same alert may try again (after the pod shows up, say).
          await deps.once.release('alert', p.dedupeKey);
          if (!(err instanceof TracehoundError) || err.status >= 500) throw err;
          out.failed.push({ ...ref, rule: p.rule, status: err.status, reason: err.message });
        }
      }
      // With a channel and the bot token: one thread per alert group (alert-threads.ts says what goes in it).
      if (settings.slackChannel) {
        await postFiring(deps, settings.slackChannel, payload, started);
        if (payload.status === 'resolved') await postResolved(deps, payload);
      }
      deps.log.info({ requestedBy: who.requestedBy, receiver: payload.receiver, groupKey: payload.groupKey, started: out.started.length, duplicates: out.duplicates.length, skipped: out.skipped.length, failed: out.failed.length }, 'Alertmanager notification');
      // 200 even when some alerts could not start: Alertmanager would only resend the same request and fail the same way.
      return c.json(out);
    },
  }),
];
