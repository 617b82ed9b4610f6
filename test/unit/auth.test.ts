import { describe, expect, it } from 'vitest';
import { accessFor } from '../../src/api/access-policy.ts';
import { parseAccessFile } from '../../src/auth/access-file.ts';
import { authorizeInvestigation, canSee, targetNamespace } from '../../src/auth/authorize.ts';
import { isLoopback } from '../../src/auth/bootstrap.ts';
import { hasScope, identity } from '../../src/auth/identity.ts';
import { signPath, verifySignedPath } from '../../src/auth/signed-links.ts';
import { findToken, generateToken, hashToken } from '../../src/auth/tokens.ts';
import { ForbiddenError } from '../../src/core/errors.ts';
import { checkCadence } from '../../src/schedules/schedule.ts';
import { runTokenCommand } from '../../src/token-cli.ts';

const ID = 'inv_01jd3zq8k2m4n6p8r0s2t4v6w8';

describe('tokens', () => {
  it('finds the entry whose hash matches, and nothing for other tokens', () => {
    const a = generateToken();
    const b = generateToken();
    expect(a).toMatch(/^th_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    const entries = [
      { name: 'a', sha256: hashToken(a), scopes: ['admin' as const] },
      { name: 'b', sha256: hashToken(b), scopes: ['investigations:read' as const] },
    ];
    expect(findToken(entries, b)?.name).toBe('b');
    expect(findToken(entries, `${b}x`)).toBeNull();
    expect(findToken(entries, '')).toBeNull();
  });

  it('admin holds every scope; others only their own', () => {
    expect(hasScope(identity('x', ['admin']), 'schedules:write')).toBe(true);
    expect(hasScope(identity('x', ['investigations:read']), 'investigations:write')).toBe(false);
  });

  it('tracehound token create prints a token whose hash is in the printed entry', () => {
    let out = '';
    expect(runTokenCommand(['create', '--name', 'ci', '--scopes', 'investigations:read'], { out: (s) => (out += s), err: () => undefined })).toBe(0);
    const token = /th_[A-Za-z0-9_-]{43}/.exec(out)![0];
    const file = parseAccessFile(`tokens:\n${out.split('\n').slice(1).map((l) => `  ${l}`).join('\n')}`, 'printed');
    expect(findToken(file.tokens, token)?.scopes).toEqual(['investigations:read']);
    let err = '';
    expect(runTokenCommand(['create', '--name', 'ci', '--scopes', 'root'], { out: () => undefined, err: (s) => (err += s) })).toBe(2);
    expect(err).toMatch(/--scopes/);
  });
});

describe('access file', () => {
  it('reports every problem with its path', () => {
    const bad = `tokens:\n  - { name: ci, sha256: nothex, scopes: [] }\n  - { name: ci, sha256: ${'a'.repeat(64)}, scopes: [admin], extra: 1 }\nslack:\n  rules:\n    - { users: ["not an id"] }\n`;
    let msg = '';
    try {
      parseAccessFile(bad, 'access.yaml');
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/^access\.yaml: invalid access file/);
    for (const path of ['tokens.0.sha256', 'tokens.0.scopes', 'tokens.1', 'slack.rules.0.users.0']) expect(msg).toContain(`  ${path}:`);
  });

  it('defaults to no tokens and no Slack rules', () => {
    expect(parseAccessFile('', 'empty')).toEqual({ tokens: [], slack: { rules: [] } });
  });
});

describe('authorization by namespace and playbook', () => {
  const shop = identity('token:shop', ['investigations:write'], { namespaces: ['shop'] });
  it.each([
    [{ pod: 'shop/cart-1' }, 'shop'],
    [{ namespace: 'shop', labelSelector: 'app=cart' }, 'shop'],
    [{ pod: 'shop/cart-1', namespace: 'other' }, null],
    [{ node: 'node-1' }, null],
    [{ cgroup: '/kubepods' }, null],
    [undefined, null],
  ])('target %j is confined to %s', (target, ns) => {
    expect(targetNamespace(target)).toBe(ns);
  });
  it('lets a namespace-limited identity target its namespaces only', () => {
    expect(() => authorizeInvestigation(shop, 'enospc', { pod: 'shop/cart-1' })).not.toThrow();
    expect(() => authorizeInvestigation(shop, 'enospc', { pod: 'bank/vault-0' })).toThrow(ForbiddenError);
    expect(() => authorizeInvestigation(shop, 'enospc', { node: 'node-1' })).toThrow(/not a node, cgroup, pid or the whole fleet/);
    expect(() => authorizeInvestigation(shop, 'health-sweep', undefined)).toThrow(ForbiddenError);
    expect(canSee(shop, { playbook: 'enospc', target: { pod: 'shop/a' } })).toBe(true);
    expect(canSee(shop, { playbook: 'enospc', target: { node: 'n' } })).toBe(false);
  });
  it('holds playbook limits', () => {
    const profiles = identity('slack:U1', ['investigations:write'], { playbooks: ['cpu-profile'] });
    expect(() => authorizeInvestigation(profiles, 'enospc', { node: 'n' })).toThrow(/may not run playbook enospc/);
    expect(() => authorizeInvestigation(profiles, 'cpu-profile', { node: 'n' })).not.toThrow();
  });
});

describe('signed links', () => {
  const secret = 's'.repeat(40);
  const path = `/v1/investigations/${ID}/report`;
  it('verify until expiry, for the signed path only', () => {
    const signed = signPath(secret, path, 2000);
    const q = new URLSearchParams(signed.split('?')[1]);
    expect(verifySignedPath(secret, path, q.get('exp') ?? undefined, q.get('sig') ?? undefined, 1999)).toEqual({ ok: true });
    expect(verifySignedPath(secret, path, q.get('exp') ?? undefined, q.get('sig') ?? undefined, 2001)).toEqual({ ok: false, reason: 'expired' });
    expect(verifySignedPath(secret, path, '2001', q.get('sig') ?? undefined, 1000)).toEqual({ ok: false, reason: 'bad signature' });
    expect(verifySignedPath(secret, `/v1/investigations/${ID}`, q.get('exp') ?? undefined, q.get('sig') ?? undefined, 1000)).toEqual({ ok: false, reason: 'not linkable' });
    expect(verifySignedPath(secret, path, undefined, 'x', 1000)).toEqual({ ok: false, reason: 'malformed' });
    expect(() => signPath(secret, '/v1/audit', 1)).toThrow(/not a linkable path/);
  });
});

describe('access policy and loopback', () => {
  it('matches path patterns', () => {
    expect(accessFor('GET', `/v1/investigations/${ID}/artifacts/cpu/n/flamegraph.svg`)).toBe('investigations:read');
    expect(accessFor('HEAD', `/v1/investigations/${ID}`)).toBe('investigations:read');
    expect(accessFor('PUT', '/v1/investigations')).toBe('admin');
    expect(accessFor('GET', '/healthz/')).toBe('public');
  });
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
  ])('%s is loopback: %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});

describe('schedule cadence', () => {
  it.each([
    [{ every: 60_000 }, null],
    [{ every: 59_000 }, /at least 1m/],
    [{ cron: '*/5 * * * *' }, null],
    [{ cron: '* * * * * *' }, /more often than every 1m/],
    [{ cron: '0 3 * * *', timezone: 'Europe/Paris' }, null],
    [{ cron: '0 3 * * *', timezone: 'Mars/Olympus' }, /not a valid cron expression/],
    [{ cron: '61 * * * *' }, /not a valid cron expression/],
  ])('%j → %s', (s, expected) => {
    const r = checkCadence(s, 60_000);
    if (expected === null) expect(r).toBeNull();
    else expect(r).toMatch(expected);
  });
});
