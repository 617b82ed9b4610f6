import { describe, expect, it } from 'vitest';
import { accessFor } from '../../src/api/access-policy.ts';
import { parseAccessFile } from '../../src/auth/access-file.ts';
import { authorizeInvestigation, authorizeNode, canSee, targetNamespace } from '../../src/auth/authorize.ts';
import { isLoopback } from '../../src/auth/bootstrap.ts';
import { hasScope, identity } from '../../src/auth/identity.ts';
import { LinkSigner, signPath, verifySignedPath } from '../../src/auth/signed-links.ts';
import { findToken, generateToken, hashToken } from '../../src/auth/tokens.ts';
import { ForbiddenError } from '../../src/core/errors.ts';
import type { Target } from '../../src/core/target.ts';
import { checkCadence } from '../../src/schedules/schedule.ts';
import { runTokenCommand } from '../../entry/token-cli.ts';

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
    expect(hasScope(identity('x', ['admin']), 'alerts:write')).toBe(true);
    expect(hasScope(identity('x', ['investigations:read']), 'investigations:write')).toBe(false);
    // Posting alerts is a grant of its own: starting investigations does not include it.
    expect(hasScope(identity('x', ['investigations:write']), 'alerts:write')).toBe(false);
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
  const anyone = identity('token:ops', ['investigations:write']);
  /** The fields a ForbiddenError names, or null when the call passes. */
  const refused = (fn: () => void): string[] | null => {
    try {
      fn();
      return null;
    } catch (err) {
      expect(err).toBeInstanceOf(ForbiddenError);
      return (err as ForbiddenError).errors.map((e) => e.path);
    }
  };

  it.each([
    [{ pod: 'shop/cart-1' }, 'shop'],
    [{ namespace: 'shop', labelSelector: 'app=cart' }, 'shop'],
    [{ pod: 'shop/cart-1', namespace: 'other' }, null],
    [{ node: 'node-1' }, null],
    [{ cgroup: '/kubepods' }, null],
    [undefined, null],
  ])("target %j's pod fields name namespace %s", (target, ns) => {
    expect(targetNamespace(target)).toBe(ns);
  });

  // Every target field, alone and beside a pod, for an identity limited to "shop" and for one without limits.
  it.each<[string, Target | undefined, string[] | null]>([
    ['a pod there', { pod: 'shop/cart-1' }, null],
    ['a namespace there', { namespace: 'shop' }, null],
    ['a label selector there', { namespace: 'shop', labelSelector: 'app=cart' }, null],
    ['a pod and a node (judged later, against where the pod runs)', { pod: 'shop/cart-1', node: 'node-1' }, null],
    ['a pod elsewhere', { pod: 'bank/vault-0' }, ['target.pod']],
    ['a namespace elsewhere', { namespace: 'bank', labelSelector: 'app=vault' }, ['target.namespace']],
    ["a pod with another namespace", { pod: 'shop/cart-1', namespace: 'bank' }, ['target.namespace']],
    ['a node alone', { node: 'node-1' }, ['target.node']],
    ['a cgroup alone', { cgroup: '/victim' }, ['target.cgroup']],
    ['a pid alone', { pid: 4242 }, ['target.pid']],
    ['a cgroup beside its pod', { pod: 'shop/cart-1', cgroup: '/victim' }, ['target.cgroup']],
    ['a pid beside its pod', { pod: 'shop/cart-1', pid: 4242 }, ['target.pid']],
    ['a cgroup and a pid beside a selector', { namespace: 'shop', labelSelector: 'app=cart', cgroup: '/victim', pid: 1 }, ['target.cgroup', 'target.pid']],
    ['a cgroup beside a node', { node: 'node-1', cgroup: '/victim' }, ['target.cgroup', 'target.node']],
    ['no target (the fleet)', undefined, ['target']],
  ])('limited to shop, %s: refused fields %j', (_what, target, fields) => {
    expect(refused(() => authorizeInvestigation(shop, 'enospc', target))).toEqual(fields);
    // Without limits, every one of them passes authorization (an ambiguous pods + cgroup target is the intake's 400).
    expect(refused(() => authorizeInvestigation(anyone, 'enospc', target))).toBeNull();
  });

  it('says in the message who is limited to what, and which fields it refused', () => {
    expect(() => authorizeInvestigation(shop, 'enospc', { pod: 'shop/cart-1', cgroup: '/victim' })).toThrow(
      /token:shop is limited to namespaces shop: .*\(refused: target\.cgroup\)/,
    );
  });

  it('lets a limited identity name a node only where its pods run', () => {
    const onA = { nodes: ['node-a'], pods: [] };
    expect(refused(() => authorizeNode(shop, { pod: 'shop/cart-1', node: 'node-a' }, onA))).toBeNull();
    expect(refused(() => authorizeNode(shop, { pod: 'shop/cart-1', node: 'node-b' }, onA))).toEqual(['target.node']);
    expect(refused(() => authorizeNode(shop, { pod: 'shop/cart-1', node: 'node-a' }, { nodes: [], pods: [] }))).toEqual(['target.node']);
    expect(refused(() => authorizeNode(shop, { pod: 'shop/cart-1' }, onA))).toBeNull();
    expect(refused(() => authorizeNode(anyone, { pod: 'shop/cart-1', node: 'node-b' }, onA))).toBeNull();
  });

  it('shows a limited identity only what it could have started itself', () => {
    expect(canSee(shop, { playbook: 'enospc', target: { pod: 'shop/a' } })).toBe(true);
    expect(canSee(shop, { playbook: 'enospc', target: { pod: 'shop/a', node: 'n' } })).toBe(true);
    expect(canSee(shop, { playbook: 'enospc', target: { node: 'n' } })).toBe(false);
    // Records from before the rule: their captures may hold the other cgroup's or process's data.
    expect(canSee(shop, { playbook: 'enospc', target: { pod: 'shop/a', cgroup: '/victim' } })).toBe(false);
    expect(canSee(shop, { playbook: 'enospc', target: { pod: 'shop/a', pid: 4242 } })).toBe(false);
    expect(canSee(shop, { playbook: 'health-sweep' })).toBe(false);
    expect(canSee(anyone, { playbook: 'enospc', target: { pod: 'shop/a', cgroup: '/victim' } })).toBe(true);
  });

  it('holds playbook limits, naming the playbook', () => {
    const profiles = identity('slack:U1', ['investigations:write'], { playbooks: ['cpu-profile'] });
    expect(() => authorizeInvestigation(profiles, 'enospc', { node: 'n' })).toThrow(/may not run playbook enospc/);
    expect(refused(() => authorizeInvestigation(profiles, 'enospc', { node: 'n' }))).toEqual(['playbook']);
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

  it('sign the artifact links of a report page opened through one, to expire with it, and nothing else', () => {
    const signer = new LinkSigner(secret, 'https://th.example', 3600);
    const art = `/v1/investigations/${ID}/artifacts/errors/n1/result.json`;
    const other = `/v1/investigations/inv_zzzzzzzzzzzzzzzzzzzzzzzzzz/artifacts/x.json`;
    const html = `<a href="${art}">e</a> <a href="${other}">o</a> <a href="https://elsewhere/x">x</a> <a href="#top">t</a>`;
    const out = signer.signReportLinks(html, ID, 2000);
    const signed = /href="([^"]+)"/.exec(out)![1]!.replace(/&amp;/g, '&');
    const q = new URLSearchParams(signed.split('?')[1]);
    expect(signed.split('?')[0]).toBe(art);
    expect(q.get('exp')).toBe('2000');
    expect(verifySignedPath(secret, art, q.get('exp') ?? undefined, q.get('sig') ?? undefined, 1999)).toEqual({ ok: true });
    // Another investigation's artifact, other sites and anchors are left as they were.
    expect(out).toContain(`href="${other}"`);
    expect(out).toContain('href="https://elsewhere/x"');
    expect(out).toContain('href="#top"');
  });

  it('sign an evidence link that opens one part of an artifact, keeping the part it asks for', () => {
    const signer = new LinkSigner(secret, 'https://th.example', 3600);
    const art = `/v1/investigations/${ID}/artifacts/errors/n1/result.json`;
    const out = signer.signReportLinks(`<a href="${art}?pointer=%2Frows%2F3">e</a>`, ID, 2000);
    const signed = /href="([^"]+)"/.exec(out)![1]!.replace(/&amp;/g, '&');
    const q = new URLSearchParams(signed.split('?')[1]);
    expect(signed.split('?')[0]).toBe(art);
    expect(q.get('pointer')).toBe('/rows/3');
    expect(verifySignedPath(secret, art, q.get('exp') ?? undefined, q.get('sig') ?? undefined, 1999)).toEqual({ ok: true });
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
