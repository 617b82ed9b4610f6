import { z } from 'zod';
import { canSee } from '../../auth/authorize.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { checkInvestigation } from '../../intake/start.ts';
import { refusedUrl } from '../../notify/targets.ts';
import { ScheduleView } from '../../schedules/schedule-store.ts';
import { checkCadence, ScheduleName, ScheduleRequest, type Schedule } from '../../schedules/schedule.ts';
import { defineRoute, jsonResponse, problemResponse } from '../route.ts';

/** Scheduled investigations (health sweeps): each firing starts a normal investigation as `schedule:<name>`. */
export const scheduleRoutes = [
  defineRoute({
    method: 'POST',
    path: '/v1/schedules',
    access: 'schedules:write',
    summary: 'Create or replace a schedule (cron or every); each firing starts an investigation as schedule:<name>',
    body: { schema: ScheduleRequest, mediaType: 'application/json', invalid: 'invalid schedule' },
    responses: {
      201: jsonResponse('created', ScheduleView),
      200: jsonResponse('replaced', ScheduleView),
      403: problemResponse("outside the identity's namespaces or playbooks; errors[] names each refused field"),
      404: problemResponse('a schedule of that name this identity may not see'),
      422: problemResponse('target cannot be resolved'),
    },
    handle: async (c, input, deps) => {
      const req = await input.body();
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
      await deps.intake.audit.append({ actor: who.requestedBy, action: 'schedule.upsert', subject: s.name, detail: { cron: s.cron, every: s.every, playbook: s.playbook, target: s.target } });
      return c.json(await deps.schedules.view(s), existing ? 200 : 201);
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/schedules',
    access: 'investigations:read',
    summary: 'Schedules with their next run and last investigation',
    responses: { 200: jsonResponse('the schedules this identity may see', z.object({ items: z.array(ScheduleView) })) },
    handle: async (c, _input, deps) => {
      const who = c.get('identity');
      return c.json({ items: (await deps.schedules.list()).filter((s) => canSee(who, s)) });
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/v1/schedules/:name',
    access: 'schedules:write',
    summary: 'Delete a schedule; it stops firing',
    params: z.object({ name: ScheduleName }),
    responses: { 204: { description: 'deleted' }, 404: problemResponse('unknown schedule') },
    handle: async (c, { params: { name } }, deps) => {
      const who = c.get('identity');
      const s = await deps.schedules.get(name);
      if (!s || !canSee(who, s)) throw new NotFoundError(`no schedule ${name}`);
      await deps.schedules.remove(name);
      await deps.intake.audit.append({ actor: who.requestedBy, action: 'schedule.delete', subject: name });
      return c.body(null, 204);
    },
  }),
];
