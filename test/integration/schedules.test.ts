import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Investigation } from '../../src/core/investigation.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/** Schedules against real Redis and BullMQ job schedulers; no agent runs, so the sweeps themselves fail fast. */
describe('schedules', () => {
  let sys: TestSystem;
  const runsOf = async (name: string) => {
    const { json } = await sys.get('/v1/investigations?limit=200');
    return (json.items as Investigation[]).filter((i) => i.schedule === name);
  };
  const waitForRuns = async (name: string, n: number, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const runs = await runsOf(name);
      if (runs.length >= n) return runs;
      if (Date.now() > deadline) throw new Error(`only ${runs.length} runs of ${name} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  beforeAll(async () => {
    sys = await startSystem({
      parts: ['api', 'orchestrator'],
      env: { SCHEDULE_MIN_INTERVAL: '1500ms', NOTIFY_URL_HOSTS: 'hooks.slack.com, http://127.0.0.1:4567' },
      tokens: [
        { name: 'scheduler', scopes: ['schedules:write'] },
        { name: 'shop-scheduler', scopes: ['schedules:write', 'investigations:read'], namespaces: ['shop'] },
      ],
    });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it.each([
    ['cron and every', { name: 'x', cron: '0 * * * *', every: '1h', playbook: 'health-sweep' }, 'cron'],
    ['neither cron nor every', { name: 'x', playbook: 'health-sweep' }, 'cron'],
    ['a malformed cron', { name: 'x', cron: '61 * * * *', playbook: 'health-sweep' }, 'cron'],
    ['a cron firing every second', { name: 'x', cron: '* * * * * *', playbook: 'health-sweep' }, 'cron'],
    ['an interval under the minimum', { name: 'x', every: '500ms', playbook: 'health-sweep' }, 'every'],
    ['a bad name', { name: 'Nightly Sweep', every: '1h', playbook: 'health-sweep' }, 'name'],
    ['an unknown playbook', { name: 'x', every: '1h', playbook: 'nope' }, 'playbook'],
    ['a playbook needing a target', { name: 'x', every: '1h', playbook: 'enospc' }, 'target'],
    ['bad params', { name: 'x', every: '1h', playbook: 'health-sweep', params: { duration: '1h' } }, 'params.duration'],
    ['a notify URL to a host not allowed', { name: 'x', every: '1h', playbook: 'health-sweep', notify: { slackWebhookUrl: 'https://evil.example/hook' } }, 'notify.slackWebhookUrl'],
    ['a notify URL on a port not allowed', { name: 'x', every: '1h', playbook: 'health-sweep', notify: { slackWebhookUrl: 'https://hooks.slack.com:8443/services/x' } }, 'notify.slackWebhookUrl'],
    ['a notify URL with userinfo', { name: 'x', every: '1h', playbook: 'health-sweep', notify: { slackWebhookUrl: 'https://user:pw@hooks.slack.com/services/x' } }, 'notify.slackWebhookUrl'],
    ['a plain-http notify URL', { name: 'x', every: '1h', playbook: 'health-sweep', notify: { slackWebhookUrl: 'http://hooks.slack.com/services/x' } }, 'notify.slackWebhookUrl'],
    ['a notify URL on another loopback port', { name: 'x', every: '1h', playbook: 'health-sweep', notify: { slackWebhookUrl: 'http://127.0.0.1:4568/hook' } }, 'notify.slackWebhookUrl'],
  ])('refuses %s (400 naming the field) and creates nothing', async (_n, body, path) => {
    const res = await sys.post('/v1/schedules', body);
    expect(res.status).toBe(400);
    expect((res.json.errors as { path: string }[]).map((e) => e.path)).toContain(path);
    expect((await sys.get('/v1/schedules')).json.items).toEqual([]);
  });

  it('checks who may schedule what', async () => {
    expect((await sys.post('/v1/schedules', { name: 'x', every: '1h', playbook: 'health-sweep' }, { token: 'shop-scheduler' })).status).toBe(403);
    expect((await sys.post('/v1/schedules', { name: 'x', every: '1h', playbook: 'health-sweep' }, { token: null })).status).toBe(401);
  });

  it('fires every few seconds as normal investigations, survives an orchestrator restart, and stops when deleted', async () => {
    const created = await sys.post('/v1/schedules', { name: 'quick-sweep', every: '2s', playbook: 'health-sweep', params: { duration: '1s' } }, { token: 'scheduler' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'quick-sweep', every: 2000, playbook: 'health-sweep', createdBy: 'token:scheduler' });
    expect(Date.parse(created.json.nextRunAt as string)).toBeGreaterThan(Date.now() - 1000);

    const two = await waitForRuns('quick-sweep', 2);
    for (const inv of two) {
      expect(inv).toMatchObject({ playbook: 'health-sweep', requestedBy: 'schedule:quick-sweep', schedule: 'quick-sweep' });
    }
    expect(new Set(two.map((i) => i.id)).size).toBe(two.length);

    // The job scheduler lives in Redis: a new orchestrator picks up the ticks.
    await sys.restartOrchestrator(500);
    await waitForRuns('quick-sweep', two.length + 1);

    const list = await sys.get('/v1/schedules');
    expect(list.json.items).toEqual([expect.objectContaining({ name: 'quick-sweep', lastInvestigation: expect.stringMatching(/^inv_/) })]);

    const replaced = await sys.post('/v1/schedules', { name: 'quick-sweep', every: '1h', playbook: 'health-sweep' }, { token: 'scheduler' });
    expect(replaced.status).toBe(200);
    expect(replaced.json).toMatchObject({ every: 3_600_000, createdBy: 'token:scheduler' });

    expect((await fetch(`${sys.url}/v1/schedules/quick-sweep`, { method: 'DELETE', headers: { authorization: `Bearer ${sys.tokens.scheduler}` } })).status).toBe(204);
    // A firing already being processed may still land; after that, nothing more.
    await new Promise((r) => setTimeout(r, 1000));
    const after = (await runsOf('quick-sweep')).length;
    await new Promise((r) => setTimeout(r, 3000));
    expect((await runsOf('quick-sweep')).length).toBe(after);
    expect((await sys.get('/v1/schedules')).json.items).toEqual([]);
    expect((await fetch(`${sys.url}/v1/schedules/quick-sweep`, { method: 'DELETE', headers: { authorization: `Bearer ${sys.tokens.admin}` } })).status).toBe(404);

    const audit = await sys.get('/v1/audit?subject=quick-sweep&limit=500');
    const actions = (audit.json.items as { actor: string; action: string }[]).map((e) => `${e.actor} ${e.action}`);
    expect(actions).toContain('token:scheduler schedule.delete');
    expect(actions).toContain('schedule:quick-sweep schedule.fire');
    expect(actions.filter((a) => a === 'token:scheduler schedule.upsert')).toHaveLength(2);
  });
});
