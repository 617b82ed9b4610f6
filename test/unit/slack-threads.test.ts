import { describe, expect, it } from 'vitest';
import { alertFiringMessage, alertResolvedMessage } from '../../src/chatops/thread-messages.ts';
import { parseChatCommand } from '../../src/chatops/command.ts';
import { mentionCommandText } from '../../src/chatops/mention.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { loadConfig } from '../../src/config.ts';
import { NotifyTarget } from '../../src/notify/targets.ts';
import { blocksOf } from '../helpers/slack.ts';

const TOKEN = 'xoxb-1111-2222-unittestbottoken';

describe('an @-mention as a command', () => {
  it.each([
    ['<@U0BOT> ENOSPC on pod shop/cart-7d9f', 'ENOSPC pod=shop/cart-7d9f'],
    ['<@U0BOT|tracehound> the node is slow on node test-node.', 'the node is slow node=test-node'],
    ['<@U0BOT> latency in namespace shop, p99 500ms', 'latency namespace=shop p99 500ms'],
    ['<@U0BOT> pod shop/cart-1 keeps restarting', 'pod=shop/cart-1 keeps restarting'],
    ['<@U0BOT> enospc node=test-node for=1s', 'enospc node=test-node for=1s'],
    ['<@U0BOT> status inv_01', 'status inv_01'],
    // "the node is slow" names no node: left as the symptom it is.
    ['<@U0BOT> the node is slow', 'the node is slow'],
  ])('%s → %s', (text, command) => {
    expect(mentionCommandText(text)).toBe(command);
  });

  it('gives parseChatCommand a target and a symptom', () => {
    expect(parseChatCommand(mentionCommandText('<@U0BOT> disk full on pod shop/cart-7d9f'), { playbooks: ['enospc'] })).toEqual({
      kind: 'investigate',
      symptom: 'disk full',
      target: { pod: 'shop/cart-7d9f' },
      params: {},
    });
    // A first word that names a playbook runs it, as in a slash command.
    expect(parseChatCommand(mentionCommandText('<@U0BOT> ENOSPC on pod shop/cart-7d9f'), { playbooks: ['enospc'] })).toEqual({
      kind: 'investigate',
      playbook: 'enospc',
      target: { pod: 'shop/cart-7d9f' },
      params: {},
    });
  });
});

describe('bot token configuration', () => {
  it('sends the token only to a Web API host NOTIFY_URL_HOSTS allows', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: TOKEN })).toThrow(/SLACK_API_URL: https:\/\/slack\.com is not allowed.*add its host to NOTIFY_URL_HOSTS/);
    expect(loadConfig({ SLACK_BOT_TOKEN: TOKEN, NOTIFY_URL_HOSTS: 'hooks.slack.com,slack.com' }).SLACK_API_URL).toBe('https://slack.com/api');
    expect(() => loadConfig({ SLACK_BOT_TOKEN: TOKEN, NOTIFY_URL_HOSTS: 'slack.com', SLACK_API_URL: 'https://evil.example/api' })).toThrow(/SLACK_API_URL: https:\/\/evil\.example is not allowed/);
    expect(loadConfig({ SLACK_BOT_TOKEN: TOKEN, NOTIFY_URL_HOSTS: 'http://127.0.0.1:4567', SLACK_API_URL: 'http://127.0.0.1:4567/api' }).SLACK_API_URL).toBe('http://127.0.0.1:4567/api');
  });

  it('refuses what is not a bot token, and an alert channel without one', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxp-user-token-1234', NOTIFY_URL_HOSTS: 'slack.com' })).toThrow(/SLACK_BOT_TOKEN: expected a bot token/);
    expect(() => loadConfig({ ALERT_SLACK_CHANNEL: 'C0ALERTS' })).toThrow(/ALERT_SLACK_CHANNEL: posting to a channel needs SLACK_BOT_TOKEN/);
    expect(loadConfig({ ALERT_SLACK_CHANNEL: 'C0ALERTS', SLACK_BOT_TOKEN: TOKEN, NOTIFY_URL_HOSTS: 'slack.com' }).ALERT_SLACK_CHANNEL).toBe('C0ALERTS');
  });
});

describe('thread targets', () => {
  it('hold a channel and a message ts, nothing else', () => {
    expect(NotifyTarget.parse({ kind: 'slack-thread', channel: 'C0SRE', threadTs: '1700000000.000100' })).toEqual({ kind: 'slack-thread', channel: 'C0SRE', threadTs: '1700000000.000100' });
    expect(NotifyTarget.safeParse({ kind: 'slack-thread', channel: 'C0SRE', threadTs: 'yesterday' }).success).toBe(false);
    expect(NotifyTarget.safeParse({ kind: 'slack-thread', channel: 'C0 SRE', threadTs: '1700000000.000100' }).success).toBe(false);
  });
});

describe('alert thread messages', () => {
  it('names what fires and what is being investigated, escaped', () => {
    const m = alertFiringMessage({
      alertnames: ['NodeDiskFull'],
      alerts: 2,
      groupLabels: { alertname: 'NodeDiskFull', team: '<sre>' },
      started: [{ id: 'inv_01jz8k3m4n5p6q7r8s9t0v1w2x', playbook: 'enospc', target: { node: 'node-7' }, symptom: 'disk & inodes' }],
    });
    const { text } = blocksOf(m);
    expect(text).toContain('*NodeDiskFull* firing (2 alerts)');
    expect(text).toContain('team=&lt;sre&gt;');
    expect(text).toContain('`inv_01jz8k3m4n5p6q7r8s9t0v1w2x` *enospc* on node=node-7: disk &amp; inodes');
  });

  it('says when the group resolved, after how long, and what each investigation found', () => {
    const inv = (id: string, status: Investigation['status'], headline?: string) =>
      ({ id, status, playbook: 'enospc', params: {}, createdAt: '2026-01-01T03:00:00Z', requestedBy: 'alertmanager:bearer', steps: [], artifacts: [], ...(headline ? { summary: { headline, findings: [] } } : {}) }) as unknown as Investigation;
    const one = alertResolvedMessage({
      firedAt: new Date('2026-01-01T02:58:00Z'),
      resolvedAt: new Date('2026-01-01T03:12:00Z'),
      investigations: [inv('inv_a', 'succeeded', 'No syscall failed with ENOSPC in 1 s')],
      missing: [],
    });
    expect(blocksOf(one).text).toContain('Resolved at 03:12 UTC after 14 min 0 s; investigation `inv_a` found: No syscall failed with ENOSPC in 1 s');
    const two = alertResolvedMessage({ firedAt: new Date('2026-01-01T03:00:00Z'), resolvedAt: new Date('2026-01-01T03:00:30Z'), investigations: [inv('inv_b', 'running')], missing: ['inv_c'] });
    expect(blocksOf(two).text).toMatch(/after 30\.0 s\.\n• investigation `inv_b` is still running\n• investigation `inv_c` is no longer on record/);
  });
});
