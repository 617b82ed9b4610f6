import { createServer, type Server } from 'node:http';

/** One call the fake received: the method (chat.postMessage), its JSON arguments, and the ts it answered with. */
export interface SlackApiCall {
  method: string;
  args: Record<string, unknown>;
  /** The Authorization header as sent (the bot token travels here). */
  authorization: string | undefined;
  /** The ts this call's message got (ok answers only). */
  ts?: string;
  at: number;
}

export interface FakeSlackApi {
  /** http://127.0.0.1:PORT (for NOTIFY_URL_HOSTS) */
  url: string;
  /** What to set SLACK_API_URL to: `${url}/api`. */
  apiUrl: string;
  calls: SlackApiCall[];
  /** The messages posted with chat.postMessage, in order. */
  posts(): SlackApiCall[];
  /** Answers the next `times` calls with `{ ok: false, error }`, as Slack does for not_in_channel and the like. */
  failNext(error: string, times?: number): void;
  /** Waits until `n` posts satisfy `match` (all posts when absent); returns them. */
  waitForPosts(n: number, match?: (c: SlackApiCall) => boolean, timeoutMs?: number): Promise<SlackApiCall[]>;
  close(): Promise<void>;
}

/**
 * A stand-in for Slack's Web API (https://api.slack.com/web), real HTTP on a loopback port: it checks the bearer
 * token as Slack does (invalid_auth / not_authed), records every call, and answers chat.postMessage like Slack,
 * `{ ok: true, channel, ts: "1700000000.000100", message }`, each message a later ts (they are ordered ids).
 */
export async function startFakeSlackApi(opts: { token: string }): Promise<FakeSlackApi> {
  const calls: SlackApiCall[] = [];
  let seq = 0;
  const failures: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
      const m = /^\/api\/([a-zA-Z.]+)$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !m) return void res.writeHead(404).end();
      const method = m[1]!;
      const text = Buffer.concat(chunks).toString('utf8');
      let args: Record<string, unknown>;
      try {
        args = (req.headers['content-type'] ?? '').startsWith('application/json')
          ? (JSON.parse(text) as Record<string, unknown>)
          : Object.fromEntries(new URLSearchParams(text));
      } catch {
        return answer({ ok: false, error: 'invalid_json' });
      }
      const call: SlackApiCall = { method, args, authorization: req.headers.authorization, at: Date.now() };
      calls.push(call);
      if (!req.headers.authorization) return answer({ ok: false, error: 'not_authed' });
      if (req.headers.authorization !== `Bearer ${opts.token}`) return answer({ ok: false, error: 'invalid_auth' });
      const failure = failures.shift();
      if (failure) return answer({ ok: false, error: failure });
      if (method !== 'chat.postMessage') return answer({ ok: false, error: 'unknown_method' });
      if (typeof args.channel !== 'string' || args.channel === '') return answer({ ok: false, error: 'channel_not_found' });
      if (typeof args.text !== 'string' && !Array.isArray(args.blocks)) return answer({ ok: false, error: 'no_text' });
      seq += 1;
      const ts = `1700000000.${String(seq * 100).padStart(6, '0')}`;
      call.ts = ts;
      // Slack answers with the channel's id; the channels here are ids already.
      answer({ ok: true, channel: args.channel, ts, message: { type: 'message', text: args.text, ts, ...(args.thread_ts ? { thread_ts: args.thread_ts } : {}) } });
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const posts = () => calls.filter((c) => c.method === 'chat.postMessage' && c.ts !== undefined);
  return {
    url,
    apiUrl: `${url}/api`,
    calls,
    posts,
    failNext(error, times = 1) {
      for (let i = 0; i < times; i++) failures.push(error);
    },
    async waitForPosts(n, match = () => true, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = posts().filter(match);
        if (got.length >= n) return got;
        if (Date.now() > deadline) {
          throw new Error(`only ${got.length} of ${n} matching posts within ${timeoutMs} ms; all calls: ${JSON.stringify(calls.map((c) => ({ ...c.args, ts: c.ts }))).slice(0, 2000)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
