import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slashCommand, SLACK_SECRET } from '../helpers/slack.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** From the request's first byte to the response's last. */
  ms: number;
}

/**
 * An HTTP/1.1 request over a bare socket, so the test decides exactly which body bytes go out and when: the head,
 * then `body` (when `chunked`, as chunks of 16 KiB, ended only if `complete`), and never more. The response must come while the client still
 * holds the rest of what it announced — a server that waits for the whole body never answers.
 */
async function rawRequest(
  baseUrl: string,
  opts: { path: string; headers: Record<string, string>; body: Buffer; chunked?: boolean; complete?: boolean; timeoutMs?: number },
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const socket: Socket = connect({ host: hostname, port: Number(port) });
  const t0 = performance.now();
  const head = [`POST ${opts.path} HTTP/1.1`, `Host: ${hostname}:${port}`, ...Object.entries(opts.headers).map(([k, v]) => `${k}: ${v}`)];
  if (opts.chunked) head.push('Transfer-Encoding: chunked');
  socket.on('connect', () => {
    socket.write(`${head.join('\r\n')}\r\n\r\n`);
    if (!opts.chunked) {
      socket.write(opts.body);
      return;
    }
    for (let i = 0; i < opts.body.length; i += 16 * 1024) {
      const chunk = opts.body.subarray(i, i + 16 * 1024);
      socket.write(`${chunk.length.toString(16)}\r\n`);
      socket.write(chunk);
      socket.write('\r\n');
    }
    // Without the terminating zero-length chunk the body never ends.
    if (opts.complete) socket.write('0\r\n\r\n');
  });
  return new Promise<RawResponse>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${opts.timeoutMs ?? 5000} ms (got ${JSON.stringify(buf.toString('latin1').slice(0, 200))})`));
    }, opts.timeoutMs ?? 5000);
    const tryParse = () => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const length = Number(headers['content-length'] ?? NaN);
      if (!Number.isFinite(length) || buf.length < end + 4 + length) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: buf.subarray(end + 4, end + 4 + length).toString('utf8'), ms: performance.now() - t0 });
    };
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      tryParse();
    });
    socket.on('error', (err) => {
      // The server may close its side after answering; a response already read is what counts.
      tryParse();
      clearTimeout(timer);
      reject(err);
    });
  });
}

const form = (bytes: number) => Buffer.from(`command=%2Finvestigate&text=${'a'.repeat(bytes)}`);

function expect413(res: { status: number; headers: Record<string, string>; body: string }, variable: string) {
  expect(res.status).toBe(413);
  expect(res.headers['content-type']).toBe('application/problem+json');
  const p = JSON.parse(res.body) as Record<string, unknown>;
  expect(p).toMatchObject({ status: 413, type: 'https://tracehound.dev/problems/payload-too-large', title: 'Request body too large' });
  expect(p.detail).toContain(variable);
}

/** Request body limits (API_BODY_LIMIT, CHATOPS_BODY_LIMIT) against the real node server, before authentication. */
describe('request body limits, defaults (JSON 1 MiB, chat 64 KiB)', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ parts: ['api'], env: { SLACK_SIGNING_SECRET: SLACK_SECRET } });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('answers a slash command announcing 40 MB with 413 after ~200 KB, without waiting for the rest', async () => {
    const res = await rawRequest(sys.url, {
      path: '/v1/chatops/slack/commands',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(40 * 1024 * 1024) },
      body: form(200 * 1024),
    });
    expect413(res, 'CHATOPS_BODY_LIMIT');
    // Answered while 39.8 MB were never sent: the server read no further than the limit.
    expect(res.ms).toBeLessThan(2000);
  });

  it('stops a chunked slash command (no Content-Length) as it streams past 64 KiB', async () => {
    const res = await rawRequest(sys.url, {
      path: '/v1/chatops/slack/commands',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form(200 * 1024),
      chunked: true,
    });
    expect413(res, 'CHATOPS_BODY_LIMIT');
  });

  it('refuses a JSON body over 1 MiB, by Content-Length and chunked, even with a valid token', async () => {
    const big = Buffer.from(JSON.stringify({ playbook: 'enospc', target: { node: 'test-node' }, symptom: 'x'.repeat(1024 * 1024 + 1) }));
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${sys.tokens.admin}` };
    expect413(await rawRequest(sys.url, { path: '/v1/investigations', headers: { ...headers, 'Content-Length': String(big.length) }, body: big }), 'API_BODY_LIMIT');
    expect413(await rawRequest(sys.url, { path: '/v1/investigations', headers, body: big, chunked: true }), 'API_BODY_LIMIT');
  });

  it('checks the limit before authentication: no token, no signature, still 413', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 'x');
    expect413(
      await rawRequest(sys.url, { path: '/v1/investigations', headers: { 'Content-Type': 'application/json', 'Content-Length': String(big.length) }, body: big }),
      'API_BODY_LIMIT',
    );
    expect413(await rawRequest(sys.url, { path: '/v1/schedules', headers: { 'Content-Type': 'application/json' }, body: big, chunked: true }), 'API_BODY_LIMIT');
    expect413(await rawRequest(sys.url, { path: '/v1/chatops/slack/interactions', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form(100 * 1024), chunked: true }), 'CHATOPS_BODY_LIMIT');
    // The same requests under the limit reach authentication and are refused there.
    expect((await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' } }, { token: null })).status).toBe(401);
    const unsigned = await fetch(`${sys.url}/v1/chatops/slack/commands`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form(1024) });
    expect(unsigned.status).toBe(401);
  });

  it('lets bodies under the limits through', async () => {
    const near = 'y'.repeat(1900); // the symptom field's own cap is 2000 characters
    const ok = await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' }, symptom: near, params: { duration: '1s' } });
    expect(ok.status).toBe(202);
    // A JSON body of ~900 KiB gets past the limit and is judged on its content (the symptom is too long), not its size.
    const large = await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' }, symptom: 'z'.repeat(900 * 1024) });
    expect(large.status).toBe(400);
    expect(large.json.errors).toContainEqual(expect.objectContaining({ path: 'symptom' }));
    const slash = await slashCommand(sys.url, `help ${'h'.repeat(3000)}`, { responseUrl: 'http://127.0.0.1:9/never' });
    expect(slash.status).toBe(200);
    // A chunked body under the limit is read to its end and handled as usual.
    const chunked = await rawRequest(sys.url, {
      path: '/v1/investigations',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${sys.tokens.admin}` },
      body: Buffer.from(JSON.stringify({ playbook: 'enospc', target: { node: 'test-node' }, symptom: 'c'.repeat(1900), params: { duration: '1s' } }).padEnd(40_000, ' ')),
      chunked: true,
      complete: true,
    });
    expect(chunked.status).toBe(202);
  });
});

describe('request body limits, configured', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ parts: ['api'], env: { SLACK_SIGNING_SECRET: SLACK_SECRET, API_BODY_LIMIT: '4KiB', CHATOPS_BODY_LIMIT: '2KiB' } });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('applies API_BODY_LIMIT and CHATOPS_BODY_LIMIT', async () => {
    const body = (n: number) => ({ playbook: 'enospc', target: { node: 'test-node' }, symptom: 'q'.repeat(n), params: { duration: '1s' } });
    expect((await sys.post('/v1/investigations', body(1500))).status).toBe(202);
    const over = await sys.post('/v1/investigations', body(5000));
    expect(over.status).toBe(413);
    expect(over.json.detail).toContain('4.0 KiB');
    expect((await slashCommand(sys.url, 'help', { responseUrl: 'http://127.0.0.1:9/never' })).status).toBe(200);
    const chat = await slashCommand(sys.url, `help ${'h'.repeat(2500)}`, { responseUrl: 'http://127.0.0.1:9/never' });
    expect(chat.status).toBe(413);
    expect(JSON.parse(chat.body)).toMatchObject({ status: 413, detail: expect.stringContaining('CHATOPS_BODY_LIMIT') });
  });
});
