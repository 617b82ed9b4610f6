import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ACCESS_POLICY, accessFor } from '../../src/api/access-policy.ts';
import { defineRoute } from '../../src/api/route.ts';
import { ROUTES } from '../../src/api/route-table.ts';

const ok = () => new Response(null, { status: 204 });

describe('route definitions', () => {
  it('refuses a route without an access: a compile error, and a start-up error for what the compiler does not see', () => {
    // @ts-expect-error: `access` is required; this line fails to compile the day it becomes optional.
    expect(() => defineRoute({ method: 'GET', path: '/v1/new', summary: 'new', responses: { 204: { description: 'ok' } }, handle: ok })).toThrow(
      /route GET \/v1\/new needs an access \(public, slack, alertmanager, investigations:read, .*admin\), has undefined/,
    );
    const typo = { method: 'GET', path: '/v1/new', access: 'investigations:raed', summary: 'new', responses: {}, handle: ok } as unknown as Parameters<typeof defineRoute>[0];
    expect(() => defineRoute(typo)).toThrow(/needs an access .* has "investigations:raed"/);
  });

  it('refuses a route whose params schema does not name exactly its path parameters', () => {
    expect(() =>
      defineRoute({ method: 'GET', path: '/v1/things/:id', access: 'admin', summary: 'one thing', responses: {}, handle: ok }),
    ).toThrow('route GET /v1/things/:id: its params schema names [], its path [id]');
    expect(() =>
      defineRoute({ method: 'GET', path: '/v1/things/:id/files/*', access: 'admin', summary: 'a file', params: z.object({ id: z.string() }), responses: {}, handle: ok }),
    ).toThrow('its params schema names [id], its path [id, path]');
    expect(() => defineRoute({ method: 'GET', path: '/v1/things', access: 'admin', summary: 'things', params: z.object({ id: z.string() }), responses: {}, handle: ok })).toThrow(
      'its params schema names [id], its path []',
    );
    const fine = defineRoute({ method: 'GET', path: '/v1/things/:id/files/*', access: 'admin', summary: 'a file', params: z.object({ id: z.string(), path: z.string() }), responses: {}, handle: ok });
    expect(fine.access).toBe('admin');
  });
});

describe('access policy', () => {
  it('is the route table: one entry per route, with the access its definition names', () => {
    expect(ACCESS_POLICY.map(({ method, path, access }) => ({ method, path, access }))).toEqual(ROUTES.map(({ method, path, access }) => ({ method, path, access })));
    expect(new Set(ROUTES.map((r) => `${r.method} ${r.path}`)).size).toBe(ROUTES.length);
  });

  it('answers for concrete paths from the patterns, and fails closed for anything unlisted', () => {
    const id = 'inv_01jd3zq8k2m4n6p8r0s2t4v6w8';
    expect(accessFor('GET', `/v1/investigations/${id}/artifacts/cpu/n/flamegraph.svg`)).toBe('investigations:read');
    expect(accessFor('GET', `/v1/investigations/${id}/diff/${id}`)).toBe('investigations:read');
    expect(accessFor('POST', `/v1/investigations/${id}/cancel`)).toBe('investigations:write');
    expect(accessFor('DELETE', '/v1/schedules/nightly')).toBe('schedules:write');
    expect(accessFor('HEAD', '/v1/nodes')).toBe('investigations:read');
    expect(accessFor('POST', '/v1/chatops/slack/commands')).toBe('slack');
    expect(accessFor('POST', '/v1/slack/events')).toBe('slack');
    expect(accessFor('GET', '/openapi.json')).toBe('public');
    expect(accessFor('PUT', '/v1/investigations')).toBe('admin');
    expect(accessFor('GET', '/v1/something-new')).toBe('admin');
    expect(accessFor('GET', '/openapi.jsonx')).toBe('admin');
  });
});
