import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVESTIGATION_ID_PART } from '../../src/core/ids.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { startUnresponsiveServer } from '../helpers/fake-kube-api.ts';
import { startHookServer, type HookServer } from '../helpers/hook-server.ts';
import { signSlackRequest } from '../../src/chatops/signature.ts';
import { blocksOf, SLACK_SECRET, slashCommand } from '../helpers/slack.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/**
 * The Slack endpoint against real Redis, BullMQ and S3, with a local server standing in for response_url.
 * No agent runs here, so investigations fail at their first step ("no live agent"): enough to see every
 * message and the final summary arrive. test/e2e/chatops.test.ts runs a real capture.
 */
const MATTERMOST_TOKEN = 'mattermost-command-token-4f8s9d';

describe('Slack slash commands', () => {
  let sys: TestSystem;
  let hook: HookServer;
  let n = 0;
  const responseUrl = () => `${hook.url}/response/${++n}`;
  const investigations = async () => ((await sys.get('/v1/investigations?limit=200')).json.items as Investigation[]);

  beforeAll(async () => {
    hook = await startHookServer();
    sys = await startSystem({
      parts: ['api', 'orchestrator'],
      env: { SLACK_SIGNING_SECRET: SLACK_SECRET, MATTERMOST_COMMAND_TOKEN: MATTERMOST_TOKEN, NOTIFY_URL_HOSTS: hook.url },
      slackRules: [
        { users: ['U0MALLORY'], write: false },
        { channels: ['C0SHOP'], namespaces: ['shop'], playbooks: ['enospc'] },
        { channels: ['C0SRE', 'C0OTHER'] },
      ],
    });
  });
  afterAll(async () => {
    await sys?.stop();
    await hook?.close();
  });

  describe('request signatures', () => {
    it('accepts a valid signature', async () => {
      const res = await slashCommand(sys.url, 'help', { responseUrl: responseUrl() });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ response_type: 'ephemeral' });
      expect(blocksOf(res.json).text).toContain('/investigate status');
    });

    it.each([
      ['the wrong secret', { secret: 'not-the-signing-secret' }],
      ['a stale timestamp', { timestamp: Math.floor(Date.now() / 1000) - 400 }],
      ['a timestamp from the future', { timestamp: Math.floor(Date.now() / 1000) + 400 }],
      ['a modified body', { tamper: (b: string) => b.replace('text=', 'text=cancel+') }],
    ])('refuses %s with 401, before doing anything', async (_name, opts) => {
      const before = (await investigations()).length;
      const res = await slashCommand(sys.url, 'enospc node=test-node for=1s', { responseUrl: responseUrl(), ...opts });
      expect(res.status).toBe(401);
      expect(res.body).not.toMatch(/at |stack/i);
      expect((await investigations()).length).toBe(before);
    });

    it('refuses a request with no signature headers', async () => {
      const res = await fetch(`${sys.url}/v1/chatops/slack/commands`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'text=help' });
      expect(res.status).toBe(401);
    });
  });

  it('acknowledges signed button clicks (interactivity) and refuses unsigned ones', async () => {
    const click = (secret: string) => {
      const body = new URLSearchParams({
        payload: JSON.stringify({ type: 'block_actions', user: { id: 'U0ALICE' }, actions: [{ action_id: 'open_report', type: 'button' }] }),
      }).toString();
      const ts = Math.floor(Date.now() / 1000);
      return fetch(`${sys.url}/v1/chatops/slack/interactions`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signSlackRequest(secret, ts, body) },
        body,
      });
    };
    expect((await click(SLACK_SECRET)).status).toBe(200);
    expect((await click('not-the-signing-secret')).status).toBe(401);
  });

  it('acts once on a replayed trigger_id and answers the replay with the first reply', async () => {
    const before = (await investigations()).length;
    const url = responseUrl();
    const first = await slashCommand(sys.url, 'enospc node=test-node for=1s', { responseUrl: url, triggerId: 'trig-replayed-1' });
    const again = await slashCommand(sys.url, 'enospc node=test-node for=1s', { responseUrl: url, triggerId: 'trig-replayed-1' });
    expect(first.status).toBe(200);
    expect(again.json).toEqual(first.json);
    expect((await investigations()).length).toBe(before + 1);
  });

  it('acknowledges at once, then posts progress and a Block Kit summary to response_url (at most 5 posts)', async () => {
    const url = responseUrl();
    const path = new URL(url).pathname;
    const started = Date.now();
    const res = await slashCommand(sys.url, 'enospc node=test-node for=1s', { responseUrl: url });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(res.json.response_type).toBe('ephemeral');
    const id = new RegExp(INVESTIGATION_ID_PART).exec(blocksOf(res.json).text)?.[0];
    expect(id).toBeDefined();

    const inv = await sys.waitFor(id!);
    expect(inv).toMatchObject({ status: 'failed', requestedBy: 'slack:U0ALICE' });
    const posts = await hook.waitFor(1, path);
    // Let stragglers arrive, then count.
    await new Promise((r) => setTimeout(r, 500));
    const all = hook.received.filter((r) => r.path === path).map((r) => r.body);
    expect(all.length).toBeLessThanOrEqual(5);
    expect(posts.length).toBeGreaterThanOrEqual(1);
    const final = all.at(-1) as { response_type: string };
    expect(final.response_type).toBe('in_channel');
    const { blocks, text, buttons } = blocksOf(final);
    expect(blocks[0]!.type).toBe('header');
    expect(text).toContain(inv.summary!.headline.slice(0, 40));
    expect(text).toContain(id!);
    // The report button is a signed link under the public URL, and it opens without a token.
    expect(buttons['Open report']).toMatch(new RegExp(`^${sys.url}/v1/investigations/${id}/report\\?exp=\\d+&sig=`));
    const page = await fetch(buttons['Open report']!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
  });

  it('answers help, status, cancel and sweeps, and explains bad input without a stack trace', async () => {
    const url = responseUrl();
    const start = await slashCommand(sys.url, 'enospc node=test-node for=1s', { responseUrl: url });
    const id = new RegExp(INVESTIGATION_ID_PART).exec(blocksOf(start.json).text)![0];

    const status = await slashCommand(sys.url, `status ${id}`, { responseUrl: url });
    expect(blocksOf(status.json).text).toContain(id);

    const cancel = await slashCommand(sys.url, `cancel ${id}`, { responseUrl: url });
    expect(cancel.json.response_type).toBe('ephemeral');
    expect(blocksOf(cancel.json).text).toMatch(/ancel/);

    const bad = await slashCommand(sys.url, 'enospc node=test-node for=10m', { responseUrl: url });
    expect(bad.status).toBe(200);
    expect(bad.json.response_type).toBe('ephemeral');
    expect(blocksOf(bad.json).text).toMatch(/params\.duration/);
    expect(bad.body).not.toMatch(/\bat .+\.ts:\d+/);

    const unknown = await slashCommand(sys.url, 'status inv_nope', { responseUrl: url });
    expect(blocksOf(unknown.json).text).toMatch(/status/);

    // A symptom is never refused for matching nothing (it runs triage); this one routes to enospc, which needs a target.
    const noTarget = await slashCommand(sys.url, 'the disk is full', { responseUrl: url });
    expect(blocksOf(noTarget.json).text).toMatch(/enospc needs a target/);

    await sys.post('/v1/schedules', { name: 'nightly', cron: '0 3 * * *', playbook: 'health-sweep' });
    const sweeps = await slashCommand(sys.url, 'sweeps', { responseUrl: url });
    expect(blocksOf(sweeps.json).text).toContain('nightly');
  });

  it('restricts users and channels to their playbooks and namespaces', async () => {
    const readOnly = await slashCommand(sys.url, 'enospc node=test-node', { responseUrl: responseUrl(), user: 'U0MALLORY' });
    expect(blocksOf(readOnly.json).text).toMatch(/slack:U0MALLORY may read but not start investigations/);
    const shop = await slashCommand(sys.url, 'profile node=test-node', { responseUrl: responseUrl(), channel: 'C0SHOP' });
    expect(blocksOf(shop.json).text).toMatch(/may not run playbook cpu-profile/);
    const shopNode = await slashCommand(sys.url, 'enospc node=test-node', { responseUrl: responseUrl(), channel: 'C0SHOP' });
    expect(blocksOf(shopNode.json).text).toMatch(/limited to namespaces shop/);
    const stranger = await slashCommand(sys.url, 'help', { responseUrl: responseUrl(), channel: 'C0RANDOM' });
    expect(blocksOf(stranger.json).text).toMatch(/not allowed/);
    const audit = await sys.get('/v1/audit?actor=slack:U0ALICE&limit=500');
    expect((audit.json.items as { action: string }[]).some((e) => e.action === 'access.denied')).toBe(true);
  });

  it('does not post to a response_url on a host outside NOTIFY_URL_HOSTS', async () => {
    const res = await slashCommand(sys.url, 'enospc node=test-node for=1s', { responseUrl: 'https://attacker.example/hook' });
    expect(blocksOf(res.json).text).toMatch(/cannot post the result here/);
  });

  describe('Mattermost (compatible slash commands, authenticated by the command token)', () => {
    const mattermost = async (token: string, text: string) => {
      const form = new URLSearchParams({
        channel_id: 'C0SRE', channel_name: 'sre', command: '/investigate', response_url: responseUrl(), team_domain: 'ops',
        team_id: 'T0MM', text, token, trigger_id: `mm-${Date.now()}-${Math.random()}`, user_id: 'U0BOB', user_name: 'bob',
      });
      const res = await fetch(`${sys.url}/v1/chatops/slack/commands`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Token ${token}` },
        body: form.toString(),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };

    it('accepts the command token and records mattermost:<user>', async () => {
      const res = await mattermost(MATTERMOST_TOKEN, 'enospc node=test-node for=1s');
      expect(res.status).toBe(200);
      const id = new RegExp(INVESTIGATION_ID_PART).exec(String(res.json.text))![0];
      expect((await sys.get(`/v1/investigations/${id}`)).json.requestedBy).toBe('mattermost:U0BOB');
    });

    it('refuses a wrong token with 401', async () => {
      expect((await mattermost('mattermost-command-token-wrong!', 'help')).status).toBe(401);
    });
  });
});

describe('Slack, when a dependency is slow', () => {
  it('answers within 3 s anyway, and posts the real reply to response_url when it is ready', async () => {
    const hook = await startHookServer();
    const hung = await startUnresponsiveServer();
    process.env.KUBECONFIG = hung.kubeconfig;
    const sys = await startSystem({ parts: ['api'], env: { SLACK_SIGNING_SECRET: SLACK_SECRET, NOTIFY_URL_HOSTS: hook.url, INVENTORY: 'kubernetes' } });
    try {
      const started = Date.now();
      // Resolving the pod waits on a Kubernetes API that never answers (the inventory gives up after 5 s).
      const res = await slashCommand(sys.url, 'enospc pod=shop/cart-7d9f for=5s', { responseUrl: `${hook.url}/late` });
      expect(Date.now() - started).toBeLessThan(3000);
      expect(blocksOf(res.json).text).toMatch(/Working on it/);
      const [late] = await hook.waitFor(1, '/late', 15_000);
      expect((late as { response_type: string }).response_type).toBe('ephemeral');
      expect(blocksOf(late).text).toMatch(/Kubernetes API .* did not answer/);
    } finally {
      await sys.stop();
      delete process.env.KUBECONFIG;
      await hung.close();
      await hook.close();
    }
  });
});
