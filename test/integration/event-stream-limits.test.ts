import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem } from '../helpers/system.ts';

interface OpenStream {
  status: number;
  res: Response;
  /** Disconnects, as a client closing the tab would. */
  close(): void;
  /** Reads until the stream ends (the server closed it). */
  drain(): Promise<string>;
}

/** Opens GET …/events; for a 200, waits for its first event so the server has surely taken the slot. */
async function openStream(sys: TestSystem, id: string, token: string): Promise<OpenStream> {
  const ac = new AbortController();
  const res = await fetch(`${sys.url}/v1/investigations/${id}/events`, { headers: { authorization: `Bearer ${sys.tokens[token]}` }, signal: ac.signal });
  const reader = res.status === 200 ? res.body!.getReader() : null;
  let text = '';
  if (reader) {
    while (!text.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  }
  return {
    status: res.status,
    res,
    close: () => ac.abort(),
    drain: async () => {
      if (!reader) throw new Error(`no stream to drain: the server answered ${res.status}`);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return text;
        text += new TextDecoder().decode(value);
      }
    },
  };
}

/** Retries `attempt` until it returns a 200 stream: slots come back asynchronously, when the server sees the end. */
async function openWhenFree(sys: TestSystem, id: string, token: string, timeoutMs = 5000): Promise<OpenStream> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await openStream(sys, id, token);
    if (s.status === 200 || Date.now() > deadline) return s;
    await s.res.body?.cancel();
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SSE_MAX_PER_IDENTITY and SSE_MAX_STREAMS against the real server; no orchestrator, so investigations stay queued. */
describe('event stream caps', () => {
  let sys: TestSystem;
  const streams: OpenStream[] = [];
  const open = async (id: string, token: string) => {
    const s = await openStream(sys, id, token);
    streams.push(s);
    return s;
  };
  const investigation = async () => (await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' } })).json.id as string;

  beforeAll(async () => {
    sys = await startSystem({
      parts: ['api'],
      env: { SSE_MAX_PER_IDENTITY: '2', SSE_MAX_STREAMS: '3' },
      tokens: [
        { name: 'alice', scopes: ['investigations:read'] },
        { name: 'bob', scopes: ['investigations:read'] },
      ],
    });
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await sys?.stop();
  });

  it('refuses a stream past the per-identity cap and past the overall cap with 429 and Retry-After, then frees slots as streams end', async () => {
    const id = await investigation();
    const a1 = await open(id, 'alice');
    const a2 = await open(id, 'alice');
    expect([a1.status, a2.status]).toEqual([200, 200]);

    const a3 = await open(id, 'alice');
    expect(a3.status).toBe(429);
    expect(a3.res.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(a3.res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await a3.res.json()).toMatchObject({ status: 429, detail: expect.stringContaining('SSE_MAX_PER_IDENTITY') });

    // Another identity has its own share, up to the overall cap of 3.
    const b1 = await open(id, 'bob');
    expect(b1.status).toBe(200);
    const b2 = await open(id, 'bob');
    expect(b2.status).toBe(429);
    expect(Number(b2.res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await b2.res.json()).toMatchObject({ status: 429, detail: expect.stringContaining('SSE_MAX_STREAMS') });

    // A client that disconnects gives its slot back.
    a1.close();
    const a4 = await openWhenFree(sys, id, 'alice');
    streams.push(a4);
    expect(a4.status).toBe(200);

    // So does a stream that ends with its investigation: cancelling a queued one ends it at once.
    expect((await sys.post(`/v1/investigations/${id}/cancel`, {})).status).toBe(202);
    for (const s of [a2, a4, b1]) expect(await s.drain()).toContain('event: end');
    const other = await investigation();
    const again = [await open(other, 'alice'), await open(other, 'alice'), await open(other, 'bob')];
    expect(again.map((s) => s.status)).toEqual([200, 200, 200]);
  });
});
