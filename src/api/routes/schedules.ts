import { Hono } from 'hono';
import { canSee } from '../../auth/authorize.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { checkInvestigation } from '../../intake/start.ts';
import { refusedUrl } from '../../notify/targets.ts';
import { checkCadence, ScheduleName, ScheduleRequest, type Schedule } from '../../schedules/schedule.ts';
import type { ApiDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';
import { parseOrThrow, readJson } from '../problem.ts';

/** Scheduled investigations (health sweeps): each firing starts a normal investigation as `schedule:<name>`. */
export function scheduleRoutes(deps: ApiDeps) {
  const app = new Hono<AppEnv>();

  app.post('/', async (c) => {
    const body = await readJson(c.req);
    const req = parseOrThrow(ScheduleRequest, body, 'schedule');
    const cadence = checkCadence(req, deps.scheduleMinIntervalMs);
    if (cadence) throw new ValidationError('invalid schedule', [{ path: req.cron !== undefined ? 'cron' : 'every', message: cadence }]);
    const refused = req.notify ? refusedUrl(req.notify.slackWebhookUrl, deps.notifyHosts) : undefined;
    if (refused) throw new ValidationError('invalid schedule', [{ path: 'notify.slackWebhookUrl', message: refused }]);
    const who = c.get('identity');
    const playbook = await checkInvestigation(deps.intake, who, { playbook: req.playbook, ...(req.target ? { target: req.target } : {}), params: req.params });
    const existing = await deps.schedules.get(req.name);
    if (existing && !canSee(who, existing)) throw new NotFoundError(`no schedule ${req.name}`);
    const now = new Date().toISOString();
    const s: Schedule = {
      name: req.name,
      ...(req.cron !== undefined ? { cron: req.cron } : {}),
      ...(req.timezone !== undefined ? { timezone: req.timezone } : {}),
      ...(req.every !== undefined ? { every: req.every } : {}),
      playbook: playbook.name,
      ...(req.target ? { target: req.target } : {}),
      params: req.params,
      ...(req.notify ? { notify: req.notify } : {}),
      createdBy: existing?.createdBy ?? who.requestedBy,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await deps.schedules.upsert(s);
    await deps.audit.append({ actor: who.requestedBy, action: 'schedule.upsert', subject: s.name, detail: { cron: s.cron, every: s.every, playbook: s.playbook, target: s.target } });
    return c.json(await deps.schedules.view(s), existing ? 200 : 201);
  });

  app.get('/', async (c) => {
    const who = c.get('identity');
    return c.json({ items: (await deps.schedules.list()).filter((s) => canSee(who, s)) });
  });

  app.delete('/:name', async (c) => {
    const name = parseOrThrow(ScheduleName, c.req.param('name'), 'schedule name', ['name']);
    const who = c.get('identity');
    const s = await deps.schedules.get(name);
    if (!s || !canSee(who, s)) throw new NotFoundError(`no schedule ${name}`);
    await deps.schedules.remove(name);
    await deps.audit.append({ actor: who.requestedBy, action: 'schedule.delete', subject: name });
    return c.body(null, 204);
  });

  return app;
}
