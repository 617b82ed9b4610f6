import { createServer, type Server } from 'node:http';

/** How the server answers from now on: a status, a redirect elsewhere, or never (the request hangs until the client gives up). */
export type HookResponse = { status: number } | { redirect: string; status?: 301 | 302 | 303 | 307 | 308 } | { hang: true };

export interface HookServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Bodies received, by path, in order. */
  received: { path: string; body: unknown; at: number; answered?: number | 'hang'; closedAt?: number }[];
  /** Changes how later requests are answered (fault tests: 5xx, hang, redirect, then recovery). */
  respond(r: HookResponse): void;
  /** Waits until `n` posts reached `path` (or any path). */
  waitFor(n: number, path?: string, timeoutMs?: number): Promise<unknown[]>;
  close(): Promise<void>;
}

/** A local stand-in for Slack's response_url and incoming webhooks: records each JSON post, answers "ok" like Slack. */
export async function startHookServer(opts: { status?: number } = {}): Promise<HookServer> {
  const received: HookServer['received'] = [];
  let answer: HookResponse = { status: opts.status ?? 200 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = Buffer.concat(chunks).toString('utf8');
      }
      const a = answer;
      const entry: HookServer['received'][number] = { path: req.url ?? '/', body, at: Date.now(), answered: 'hang' in a ? 'hang' : a.status ?? 307 };
      received.push(entry);
      if ('hang' in a) {
        res.once('close', () => (entry.closedAt = Date.now()));
        return;
      }
      if ('redirect' in a) {
        res.writeHead(a.status ?? 307, { location: a.redirect, 'content-type': 'text/plain' }).end('moved');
        return;
      }
      res.writeHead(a.status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    url,
    received,
    async waitFor(n, path, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = received.filter((r) => !path || r.path === path).map((r) => r.body);
        if (got.length >= n) return got;
        if (Date.now() > deadline) throw new Error(`only ${got.length} of ${n} posts to ${path ?? 'any path'} within ${timeoutMs} ms: ${JSON.stringify(got).slice(0, 1000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    respond(r) {
      answer = r;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        // Hanging requests would keep it open forever.
        server.closeAllConnections();
      }),
  };
}
