import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSlackRequest } from '../../src/chatops/signature.ts';
import { INVESTIGATION_ID_PART } from '../../src/core/ids.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { startHookServer, type HookServer } from '../helpers/hook-server.ts';
import { blocksOf, SLACK_SECRET, slashCommand } from '../helpers/slack.ts';
import { startFakeSlackApi, type FakeSlackApi, type SlackApiCall } from '../helpers/slack-api.ts';
import { describeSteps } from '../helpers/steps.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/**
 * Answers go back where the question came from (issue #16, item 6), on a real stack: Redis, BullMQ, S3, the
 * orchestrator, its notification worker and an agent on this host running a short real playbook (enospc for 1 s on
 * test-node), with a fake of Slack's Web API over real HTTP standing in for slack.com.
 */
const BOT_TOKEN = 'xoxb-1111-2222-threadstestbottoken';
const BEARER = 'alertmanager-bearer-secret-0123';
const ID = new RegExp(INVESTIGATION_ID_PART);

let eventSeq = 0;
/** An Events API delivery, signed as Slack signs it (over the raw JSON body). */
async function sendEvent(apiUrl: string, body: unknown, opts: { secret?: string } = {}) {
  const raw = JSON.stringify(body);
  const ts = Math.floor(Date.now() / 1000);
  const res = await fetch(`${apiUrl}/v1/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signSlackRequest(opts.secret ?? SLACK_SECRET, ts, raw) },
    body: raw,
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

function mention(text: string, opts: { ts: string; thread_ts?: string; channel?: string; user?: string; eventId?: string }) {
  return {
    token: 'deprecated-verification-token',
    team_id: 'T0001',
    api_app_id: 'A0TRACE',
    type: 'event_callback',
    event_id: opts.eventId ?? `Ev${Date.now()}${++eventSeq}`,
    event_time: Math.floor(Date.now() / 1000),
    event: {
      type: 'app_mention',
      user: opts.user ?? 'U0ALICE',
      text,
      ts: opts.ts,
      ...(opts.thread_ts ? { thread_ts: opts.thread_ts } : {}),
      channel: opts.channel ?? 'C0SRE',
      event_ts: opts.ts,
    },
  };
}

/** An Alertmanager notification for one group: one alert on test-node, firing (startsAt given) or resolved. */
function alertPayload(groupKey: string, status: 'firing' | 'resolved', startsAt: string, endsAt = '0001-01-01T00:00:00Z') {
  const labels = { alertname: 'NodeDiskFull', instance: 'test-node:9100', severity: 'critical' };
  return {
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status,
    receiver: 'tracehound',
    groupLabels: { alertname: 'NodeDiskFull' },
    commonLabels: labels,
    commonAnnotations: { summary: 'Disk is full.' },
    externalURL: 'http://alertmanager.monitoring.svc:9093',
    alerts: [{ status, labels, annotations: { summary: 'Disk is full.' }, startsAt, endsAt, generatorURL: 'http://prometheus/graph', fingerprint: '0a1b2c3d4e5f6071' }],
  };
}

const textOf = (c: SlackApiCall) => blocksOf(c.args).text;

describe('Slack threads: answers go back where the question came from', () => {
  let sys: TestSystem;
  let slack: FakeSlackApi;
  let hook: HookServer;
  const rulesFile = join(tmpdir(), `th-thread-rules-${process.pid}.yaml`);

  beforeAll(async () => {
    slack = await startFakeSlackApi({ token: BOT_TOKEN });
    hook = await startHookServer();
    writeFileSync(
      rulesFile,
      ['rules:', '  - name: node-disk-full', '    match: { alertname: NodeDiskFull }', '    playbook: enospc', '    target: node', '    params: { duration: 1s }', '    symptom: "{{ alertname }} on {{ instance }}"', ''].join('\n'),
    );
    sys = await startSystem({
      parts: ['api', 'orchestrator', 'agent'],
      env: {
        SLACK_SIGNING_SECRET: SLACK_SECRET,
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_API_URL: slack.apiUrl,
        NOTIFY_URL_HOSTS: `${slack.url},${hook.url}`,
        ALERT_RULES_FILE: rulesFile,
        ALERTMANAGER_BEARER_TOKEN: BEARER,
        ALERT_SLACK_CHANNEL: 'C0ALERTS',
      },
      slackRules: [{ channels: ['C0SRE'] }],
    });
  });
  afterAll(async () => {
    await sys?.stop();
    await slack?.close();
    await hook?.close();
    rmSync(rulesFile, { force: true });
  });

  describe('the Events API endpoint', () => {
    it('answers url_verification with its challenge', async () => {
      const res = await sendEvent(sys.url, { token: 'x', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' });
      expect(res).toEqual({ status: 200, json: { challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' } });
    });

    it('refuses a bad signature with 401 and acts on nothing', async () => {
      const before = slack.calls.length;
      const bad = await sendEvent(sys.url, mention('<@U0BOT> enospc node=test-node for=1s', { ts: '1700000100.000100' }), { secret: 'not-the-signing-secret' });
      expect(bad.status).toBe(401);
      const challenge = await sendEvent(sys.url, { type: 'url_verification', challenge: 'abc' }, { secret: 'not-the-signing-secret' });
      expect(challenge.status).toBe(401);
      const unsigned = await fetch(`${sys.url}/v1/slack/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'url_verification', challenge: 'abc' }) });
      expect(unsigned.status).toBe(401);
      await new Promise((r) => setTimeout(r, 300));
      expect(slack.calls.length).toBe(before);
    });
  });

  it('answers an @-mention in its thread: the ack first, then the result, once however often Slack delivers it', async () => {
    const ts = '1700000200.000100';
    const event = mention('<@U0BOT> ENOSPC on node test-node for=1s', { ts });
    const res = await sendEvent(sys.url, event);
    expect(res.status).toBe(200);
    // Slack retries an event it thinks went unanswered: the same event_id acts once.
    expect((await sendEvent(sys.url, event)).status).toBe(200);

    const inThread = (c: SlackApiCall) => c.args.thread_ts === ts;
    const [ack] = await slack.waitForPosts(1, inThread);
    expect(ack!.args.channel).toBe('C0SRE');
    expect(textOf(ack!)).toMatch(/result follows in this thread/);
    const id = ID.exec(textOf(ack!))![0];
    const inv = await sys.waitFor(id);
    // "ENOSPC" names the playbook, as the first word of a slash command would; "on node test-node" the target.
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    expect(inv).toMatchObject({ playbook: 'enospc', requestedBy: 'slack:U0ALICE', target: { node: 'test-node' }, params: { duration: '1s' } });

    const [, result] = await slack.waitForPosts(2, inThread);
    expect(result!.args.channel).toBe('C0SRE');
    expect(textOf(result!)).toContain(id);
    expect(textOf(result!)).toContain(inv.summary!.headline.slice(0, 40));
    expect(Number(result!.ts)).toBeGreaterThan(Number(ack!.ts));
    await new Promise((r) => setTimeout(r, 500));
    expect(slack.posts().filter(inThread)).toHaveLength(2);
    const audit = (await sys.get('/v1/audit?actor=slack:U0ALICE&limit=500')).json.items as { action: string; subject: string }[];
    expect(audit.filter((e) => e.action === 'investigation.start' && e.subject === id)).toHaveLength(1);
    expect(((await sys.get('/v1/investigations?limit=200')).json.items as Investigation[]).filter((i) => i.id !== id && i.createdAt >= inv.createdAt && i.target?.node === 'test-node' && i.requestedBy === 'slack:U0ALICE')).toEqual([]);
    // Where the conversation is stays out of the record.
    expect(JSON.stringify((await sys.get(`/v1/investigations/${id}`)).json)).not.toContain(ts);
  });

  it('answers a mention made inside a thread in that thread, and a status question there too', async () => {
    const parent = '1700000300.000100';
    await sendEvent(sys.url, mention('<@U0BOT> enospc node=test-node for=1s', { ts: '1700000300.000900', thread_ts: parent }));
    const [ack] = await slack.waitForPosts(1, (c) => c.args.thread_ts === parent);
    const id = ID.exec(textOf(ack!))![0];
    await slack.waitForPosts(2, (c) => c.args.thread_ts === parent);
    await sendEvent(sys.url, mention(`<@U0BOT> status ${id}`, { ts: '1700000300.001900', thread_ts: parent }));
    const [, , status] = await slack.waitForPosts(3, (c) => c.args.thread_ts === parent);
    expect(textOf(status!)).toContain(id);
  });

  it('tells someone outside the allowed channels so, in the thread, and starts nothing', async () => {
    const ts = '1700000400.000100';
    await sendEvent(sys.url, mention('<@U0BOT> enospc node=test-node for=1s', { ts, channel: 'C0RANDOM' }));
    const [denied] = await slack.waitForPosts(1, (c) => c.args.thread_ts === ts);
    expect(textOf(denied!)).toMatch(/not allowed/);
    expect(ID.test(textOf(denied!))).toBe(false);
  });

  it('with a bot token, acks a slash command in the channel and answers in the ack’s thread', async () => {
    const before = slack.posts().length;
    const res = await slashCommand(sys.url, 'enospc node=test-node for=1s', { responseUrl: `${hook.url}/response/slash-1` });
    expect(res.status).toBe(200);
    expect(blocksOf(res.json).text).toMatch(/Posted in the channel/);
    const id = ID.exec(blocksOf(res.json).text)![0];

    const [ack] = (await slack.waitForPosts(before + 1)).slice(before);
    expect(ack!.args).toMatchObject({ channel: 'C0SRE' });
    expect(ack!.args.thread_ts).toBeUndefined();
    expect(textOf(ack!)).toContain(id);
    await sys.waitFor(id);
    const [result] = await slack.waitForPosts(1, (c) => c.args.thread_ts === ack!.ts);
    expect(textOf(result!)).toContain(id);
    // Nothing went the response_url way.
    await new Promise((r) => setTimeout(r, 500));
    expect(hook.received.filter((r) => r.path === '/response/slash-1')).toEqual([]);
  });

  it('falls back to response_url when the bot cannot post in the channel', async () => {
    slack.failNext('not_in_channel');
    const res = await slashCommand(sys.url, 'enospc node=test-node for=1s', { responseUrl: `${hook.url}/response/slash-2` });
    expect(blocksOf(res.json).text).toMatch(/could not post in this channel .*not_in_channel.*result follows here/);
    const id = ID.exec(blocksOf(res.json).text)![0];
    await sys.waitFor(id);
    const posts = await hook.waitFor(1, '/response/slash-2');
    expect(blocksOf(posts.at(-1)).text).toContain(id);
  });

  it('posts an alert group once, answers its re-fire in the thread, and follows up in the thread when it resolves', async () => {
    const groupKey = `{}/{severity="critical"}:{alertname="NodeDiskFull",run="${Date.now()}"}`;
    const send = async (body: unknown) => {
      const res = await fetch(`${sys.url}/v1/webhooks/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${BEARER}` },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { started: { id: string }[]; duplicates: unknown[] };
    };
    const inChannel = (c: SlackApiCall) => c.args.channel === 'C0ALERTS';
    const firedAt = new Date(Date.now() - 14 * 60_000);

    const first = await send(alertPayload(groupKey, 'firing', firedAt.toISOString()));
    expect(first.started).toHaveLength(1);
    const [top] = await slack.waitForPosts(1, inChannel);
    expect(top!.args.thread_ts).toBeUndefined();
    expect(textOf(top!)).toMatch(/NodeDiskFull/);
    expect(textOf(top!)).toContain(first.started[0]!.id);
    // Its HA twin: a duplicate, nothing posted.
    expect((await send(alertPayload(groupKey, 'firing', firedAt.toISOString()))).duplicates).toHaveLength(1);
    // Fired again (a new occurrence): a new investigation, answered in the group's thread, no second top-level post.
    const again = await send(alertPayload(groupKey, 'firing', new Date(Date.now() - 60_000).toISOString()));
    expect(again.started).toHaveLength(1);
    const ids = [first.started[0]!.id, again.started[0]!.id];
    for (const id of ids) await sys.waitFor(id);
    const results = await slack.waitForPosts(2, (c) => inChannel(c) && c.args.thread_ts === top!.ts);
    expect(results.map(textOf).map((t) => ID.exec(t)?.[0]).sort()).toEqual([...ids].sort());

    const resolvedAt = new Date();
    await send(alertPayload(groupKey, 'resolved', firedAt.toISOString(), resolvedAt.toISOString()));
    const [, , resolved] = await slack.waitForPosts(3, (c) => inChannel(c) && c.args.thread_ts === top!.ts);
    const text = textOf(resolved!);
    expect(text).toMatch(new RegExp(`Resolved at ${resolvedAt.toISOString().slice(11, 16)} UTC after 14 min`));
    const headline = ((await sys.get(`/v1/investigations/${ids[0]}`)).json as unknown as Investigation).summary!.headline;
    expect(text).toContain(`${ids[0]}\` found: ${headline.slice(0, 40)}`);
    // The resolution's HA twin posts nothing more.
    await send(alertPayload(groupKey, 'resolved', firedAt.toISOString(), resolvedAt.toISOString()));
    await new Promise((r) => setTimeout(r, 500));
    const group = slack.posts().filter(inChannel).filter((c) => c.ts === top!.ts || c.args.thread_ts === top!.ts);
    expect(group).toHaveLength(4);
    expect(slack.posts().filter((c) => inChannel(c) && c.args.thread_ts === undefined)).toHaveLength(1);
    // The bot token went to the Web API and nowhere else.
    expect(slack.calls.every((c) => c.authorization === `Bearer ${BOT_TOKEN}`)).toBe(true);
  });
});
