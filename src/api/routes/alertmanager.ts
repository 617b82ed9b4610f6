import { Hono } from 'hono';
import { AlertmanagerPayload } from '../../alerts/payload.ts';
import { planInvestigations } from '../../alerts/plan.ts';
import { bearerToken, sameSecret } from '../../auth/credentials.ts';
import { hasScope, identity } from '../../auth/identity.ts';
import { findToken } from '../../auth/tokens.ts';
import { ServiceUnavailableError, TracehoundError, UnauthorizedError } from '../../core/errors.ts';
import { startInvestigation } from '../../intake/start.ts';
import type { AlertmanagerSettings, ApiDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';
import { parseOrThrow, readJson } from '../problem.ts';

/** Alertmanager re-sends until it gets a 2xx and HA pairs both send: an occurrence is acted on once for this long. */
const DEDUPE_TTL_SEC = 7 * 24 * 3600;

/** Alertmanager's http_config credentials (bearer or basic), or an API token with investigations:write. */
function authenticated(settings: AlertmanagerSettings, header: string | undefined, deps: ApiDeps): boolean {
  if (!header) return false;
  const bearer = bearerToken(header);
  if (bearer !== undefined) {
    if (settings.bearerToken && sameSecret(bearer, settings.bearerToken)) return true;
    const entry = findToken(deps.auth.tokens, bearer);
    return entry !== null && hasScope(identity(entry.name, entry.scopes), 'investigations:write');
  }
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header)?.[1];
  if (basic !== undefined && settings.basicAuth) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    return sameSecret(decoded, `${settings.basicAuth.username}:${settings.basicAuth.password}`);
  }
  return false;
}

export function alertmanagerRoutes(deps: ApiDeps) {
  const app = new Hono<AppEnv>();

  app.post('/', async (c) => {
    const settings = deps.alertmanager;
    if (!settings) throw new ServiceUnavailableError('the Alertmanager webhook is not configured on this server (ALERT_RULES_FILE)');
    if (!authenticated(settings, c.req.header('authorization'), deps)) {
      c.header('WWW-Authenticate', 'Basic realm="tracehound", Bearer realm="tracehound"');
      throw new UnauthorizedError('Alertmanager credentials missing or wrong (see ALERTMANAGER_BEARER_TOKEN / ALERTMANAGER_BASIC_AUTH)');
    }
    const body = await readJson(c.req, 'an Alertmanager webhook payload');
    const payload = parseOrThrow(AlertmanagerPayload, body, 'Alertmanager payload');
    const plan = planInvestigations(payload, settings.rules);
    const who = identity(`alertmanager:${payload.receiver}`, ['investigations:write']);
    await deps.audit.append({
      actor: who.requestedBy,
      action: 'alert.receive',
      subject: payload.groupKey,
      detail: { status: payload.status, alerts: payload.alerts.length, planned: plan.planned.length },
    });

    const started: { id: string; rule: string; fingerprint: string; alertname?: string }[] = [];
    const duplicates: { fingerprint: string; alertname?: string }[] = [];
    const failed: { fingerprint: string; alertname?: string; rule: string; status: number; reason: string }[] = [];
    for (const p of plan.planned) {
      const ref = { fingerprint: p.alert.fingerprint, ...(p.alert.alertname ? { alertname: p.alert.alertname } : {}) };
      if (!(await deps.once.claim('alert', p.dedupeKey, DEDUPE_TTL_SEC))) {
        duplicates.push(ref);
        continue;
      }
      try {
        const inv = await startInvestigation(deps.intake, who, p.request, {
          detail: { via: 'alertmanager', rule: p.rule, ...ref },
          notify: settings.slackWebhookUrl ? [{ kind: 'slack-webhook', url: settings.slackWebhookUrl, when: 'always' }] : [],
        });
        await deps.once.set('alert', p.dedupeKey, inv.id, DEDUPE_TTL_SEC);
        started.push({ id: inv.id, rule: p.rule, ...ref });
      } catch (err) {
        // Not acted on: a later delivery of the same alert may try again (after the pod shows up, say).
        await deps.once.release('alert', p.dedupeKey);
        if (!(err instanceof TracehoundError) || err.status >= 500) throw err;
        failed.push({ ...ref, rule: p.rule, status: err.status, reason: err.message });
      }
    }
    deps.log.info({ receiver: payload.receiver, groupKey: payload.groupKey, started: started.length, duplicates: duplicates.length, skipped: plan.skipped.length, failed: failed.length }, 'Alertmanager notification');
    // 200 even when some alerts could not start: Alertmanager would only resend the same request and fail the same way.
    return c.json({ started, duplicates, skipped: plan.skipped, failed });
  });

  return app;
}
