import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/** Reads a server-sent event stream to its end (or `max` events) and returns its events, parsed. */
async function readEvents(url: string, token: string, max = 100): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: AbortSignal.timeout(30_000) });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: { event: string; data: Record<string, unknown> }[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body!) {
    buf += decoder.decode(chunk as Uint8Array, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
      if (events.length >= max) return events;
    }
  }
  return events;
}

/** GET /v1/investigations/:id/events against real Redis pub/sub, with an orchestrator and no agent (steps fail fast). */
describe('investigation events (SSE)', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ parts: ['api', 'orchestrator'] });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('streams status and step changes until the investigation ends, then closes', async () => {
    const res = await sys.post('/v1/investigations', { playbook: 'tcp-retrans', target: { node: 'test-node' }, params: { duration: '1s' } });
    const id = res.json.id as string;
    const events = await readEvents(`${sys.url}/v1/investigations/${id}/events`, sys.tokens.admin!);
    const statuses = events.filter((e) => e.event === 'status').map((e) => e.data.status);
    expect(statuses[0]).toMatch(/queued|running/);
    expect(statuses.at(-1)).toBe('failed');
    expect(events).toContainEqual({ event: 'step', data: expect.objectContaining({ id: 'retrans', node: 'test-node', status: 'failed', reason: 'node test-node has no live agent' }) });
    expect(events.at(-1)).toEqual({ event: 'end', data: expect.objectContaining({ id, status: 'failed', headline: expect.any(String) }) });
  });

  it('sends the end at once for an investigation that already ended', async () => {
    const res = await sys.post('/v1/investigations', { playbook: 'tcp-retrans', target: { node: 'test-node' }, params: { duration: '1s' } });
    const done = await sys.waitFor(res.json.id as string);
    const events = await readEvents(`${sys.url}/v1/investigations/${done.id}/events`, sys.tokens.admin!);
    expect(events.map((e) => e.event)).toEqual(['status', 'step', 'end']);
  });

  it('is a 404 for an unknown id and a 401 without a token', async () => {
    expect((await sys.get('/v1/investigations/inv_00000000000000000000000000/events')).status).toBe(404);
    expect((await fetch(`${sys.url}/v1/investigations/inv_00000000000000000000000000/events`)).status).toBe(401);
  });
});
