import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { allowedUrl, NotifyHost, NotifyHosts, refusedUrl } from '../../src/notify/targets.ts';

const hosts = (v: string) => NotifyHosts.parse(v);

describe('NOTIFY_URL_HOSTS entries', () => {
  it.each([
    ['hooks.slack.com', { scheme: 'https', host: 'hooks.slack.com', port: 443 }],
    ['Hooks.Slack.COM', { scheme: 'https', host: 'hooks.slack.com', port: 443 }],
    ['chat.example.com:8443', { scheme: 'https', host: 'chat.example.com', port: 8443 }],
    ['https://chat.example.com', { scheme: 'https', host: 'chat.example.com', port: 443 }],
    ['https://chat.example.com:8443/', { scheme: 'https', host: 'chat.example.com', port: 8443 }],
    ['http://127.0.0.1:4567', { scheme: 'http', host: '127.0.0.1', port: 4567 }],
    ['http://localhost:4567', { scheme: 'http', host: 'localhost', port: 4567 }],
    ['http://[::1]:4567', { scheme: 'http', host: '[::1]', port: 4567 }],
    ['[::1]:8443', { scheme: 'https', host: '[::1]', port: 8443 }],
    ['http://[0:0:0:0:0:0:0:1]:4567', { scheme: 'http', host: '[::1]', port: 4567 }],
  ])('%s', (entry, parsed) => {
    expect(NotifyHost.parse(entry)).toEqual(parsed);
  });

  it.each([
    ['http://chat.example.com:8080', /plain http is allowed for loopback hosts only/],
    ['http://10.0.0.5:8080', /plain http is allowed for loopback hosts only/],
    ['http://127.0.0.1', /needs its port/],
    ['https://user:pw@hooks.slack.com', /expected host/],
    ['hooks.slack.com/services', /expected host/],
    ['*.slack.com', /expected host/],
    ['ftp://hooks.slack.com', /expected host/],
    ['hooks.slack.com:0', /port out of range/],
    ['hooks.slack.com:70000', /port out of range/],
  ])('refuses %s', (entry, why) => {
    const r = NotifyHost.safeParse(entry);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(why);
  });

  it('is a config error naming the variable, at load', () => {
    expect(() => loadConfig({ NOTIFY_URL_HOSTS: 'hooks.slack.com, http://chat.example.com:8080' })).toThrow(ConfigError);
    expect(() => loadConfig({ NOTIFY_URL_HOSTS: 'hooks.slack.com, http://chat.example.com:8080' })).toThrow(
      /NOTIFY_URL_HOSTS(\.\d+)?: "http:\/\/chat\.example\.com:8080": plain http is allowed for loopback hosts only; use https/,
    );
    expect(loadConfig({}).NOTIFY_URL_HOSTS).toEqual([{ scheme: 'https', host: 'hooks.slack.com', port: 443 }]);
    expect(loadConfig({ NOTIFY_URL_HOSTS: '' }).NOTIFY_URL_HOSTS).toEqual([{ scheme: 'https', host: 'hooks.slack.com', port: 443 }]);
  });

  it('refuses an ALERT_SLACK_WEBHOOK_URL the server would never post to', () => {
    expect(() => loadConfig({ ALERT_SLACK_WEBHOOK_URL: 'https://evil.example/hook' })).toThrow(/ALERT_SLACK_WEBHOOK_URL: https:\/\/evil\.example is not allowed/);
    expect(loadConfig({ ALERT_SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/x' }).ALERT_SLACK_WEBHOOK_URL).toBe('https://hooks.slack.com/services/T0/B0/x');
  });
});

describe('allowedUrl', () => {
  const slack = hosts('hooks.slack.com');
  it.each([
    ['https://hooks.slack.com/services/T0/B0/x', true],
    ['https://HOOKS.slack.com/commands/1/2', true],
    ['https://hooks.slack.com:443/services/x', true],
    ['https://hooks.slack.com:8443/services/x', false],
    ['http://hooks.slack.com/services/x', false],
    ['https://user:pw@hooks.slack.com/services/x', false],
    ['https://hooks.slack.com@evil.example/services/x', false],
    ['https://evil.example/services/x', false],
    ['https://hooks.slack.com.evil.example/x', false],
    ['ftp://hooks.slack.com/x', false],
    ['not a url', false],
  ])('hooks.slack.com allows %s: %s', (url, ok) => {
    expect(allowedUrl(url, slack)).toBe(ok);
  });

  it('allows another port only when its entry names it', () => {
    const chat = hosts('chat.example.com:8443');
    expect(allowedUrl('https://chat.example.com:8443/hooks/x', chat)).toBe(true);
    expect(allowedUrl('https://chat.example.com/hooks/x', chat)).toBe(false);
    expect(allowedUrl('https://chat.example.com:9443/hooks/x', chat)).toBe(false);
  });

  it('allows plain http only to the loopback host and port of an http entry', () => {
    const dev = hosts('http://127.0.0.1:4567, http://[::1]:4567');
    expect(allowedUrl('http://127.0.0.1:4567/response/1', dev)).toBe(true);
    expect(allowedUrl('http://[::1]:4567/response/1', dev)).toBe(true);
    expect(allowedUrl('http://127.0.0.1:4568/response/1', dev)).toBe(false);
    expect(allowedUrl('http://127.0.0.2:4567/response/1', dev)).toBe(false);
    expect(allowedUrl('https://127.0.0.1:4567/response/1', dev)).toBe(false);
    expect(allowedUrl('http://[::1]:80/response/1', dev)).toBe(false);
  });

  it('says why it refuses', () => {
    expect(refusedUrl('https://user:pw@hooks.slack.com/x', hosts('hooks.slack.com'))).toMatch(/user:password@ are refused/);
    expect(refusedUrl('https://hooks.slack.com:8443/x', hosts('hooks.slack.com, http://127.0.0.1:4567'))).toBe(
      'https://hooks.slack.com:8443 is not allowed; this server posts only to hooks.slack.com, http://127.0.0.1:4567 (NOTIFY_URL_HOSTS)',
    );
  });
});
