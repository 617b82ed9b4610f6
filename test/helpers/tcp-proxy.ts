import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * - pass: forward both ways.
 * - refuse: not listening (new connections get ECONNREFUSED); open connections are reset.
 * - hang: accept, never forward nor answer; open connections freeze mid-stream. Back to pass, they carry on.
 * - slow: forward, each chunk (of at most `chunkBytes`) after `delayMs`.
 */
export type ProxyMode = 'pass' | 'refuse' | 'hang' | 'slow';

export interface ProxyModeOptions {
  /** slow: delay before each forwarded chunk (default 100 ms). */
  delayMs?: number;
  /** slow: chunks are cut to at most this many bytes, so a body trickles (default: as received). */
  chunkBytes?: number;
}

export interface TcpProxy {
  host: string;
  port: number;
  /** `http://127.0.0.1:<port>`, or with another scheme (`redis`). */
  url(scheme?: string): string;
  /** Connections accepted so far (under pass, hang and slow). */
  readonly accepted: number;
  mode(mode: ProxyMode, opts?: ProxyModeOptions): Promise<void>;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket | null;
  /** Per direction, so chunks keep their order however the mode changes under them. */
  toUpstream: Promise<void>;
  toClient: Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP proxy on 127.0.0.1 in front of host:port whose behaviour a test switches at any moment. */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let current: ProxyMode = 'pass';
  let options: ProxyModeOptions = {};
  let accepted = 0;
  let closed = false;
  const links = new Set<Link>();
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    if (current === 'refuse' || closed) {
      client.resetAndDestroy();
      return;
    }
    accepted++;
    const link: Link = { client, upstream: null, toUpstream: Promise.resolve(), toClient: Promise.resolve() };
    links.add(link);
    client.on('error', () => drop(link));
    client.on('close', () => drop(link));
    apply(link);
  });

  function drop(link: Link): void {
    if (!links.delete(link)) return;
    link.client.destroy();
    link.upstream?.destroy();
  }

  /** Queues a chunk for dst behind the ones before it, delayed and cut up under 'slow'. */
  function forward(link: Link, dir: 'toUpstream' | 'toClient', dst: Socket, chunk: Buffer): void {
    link[dir] = link[dir].then(async () => {
      const size = current === 'slow' && options.chunkBytes ? options.chunkBytes : chunk.length;
      for (let at = 0; at < chunk.length; at += size) {
        if (current === 'slow') await sleep(options.delayMs ?? 100);
        if (dst.destroyed) return;
        dst.write(chunk.subarray(at, at + size));
      }
    });
  }

  function apply(link: Link): void {
    const { client } = link;
    if (current === 'hang') {
      client.pause();
      link.upstream?.pause();
      return;
    }
    if (!link.upstream) {
      const upstream = connect({ host: targetHost, port: targetPort });
      link.upstream = upstream;
      upstream.on('error', () => drop(link));
      upstream.on('close', () => drop(link));
      upstream.on('data', (chunk: Buffer) => forward(link, 'toClient', client, chunk));
      upstream.on('end', () => void link.toClient.then(() => client.end()));
      client.on('data', (chunk: Buffer) => forward(link, 'toUpstream', upstream, chunk));
      client.on('end', () => void link.toUpstream.then(() => upstream.end()));
    }
    client.resume();
    link.upstream.resume();
  }

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });

  let port = 0;
  await listen();
  port = (server.address() as { port: number }).port;

  return {
    host: '127.0.0.1',
    port,
    url: (scheme = 'http') => `${scheme}://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    async mode(mode, opts = {}) {
      if (closed) throw new Error('proxy closed');
      const was = current;
      current = mode;
      options = opts;
      if (mode === 'refuse') {
        if (server.listening) server.close();
        for (const link of [...links]) {
          link.client.resetAndDestroy();
          drop(link);
        }
        return;
      }
      // Same port again: the code under test keeps its configured address.
      if (was === 'refuse' && !server.listening) await listen();
      for (const link of links) apply(link);
    },
    async close() {
      closed = true;
      for (const link of [...links]) drop(link);
      await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    },
  };
}
