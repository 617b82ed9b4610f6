import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface CountingProxy {
  /** The Redis URL to give the part under test: the proxy's address with the run's credentials. */
  url: string;
  /** Chunks its clients have sent so far. */
  sent(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 in front of the run's Redis that counts what its clients send: each burst of bytes a
 * client writes (a command, or a pipeline or transaction of many) arrives as one or a few chunks, so the count is
 * the number of exchanges with Redis, which a per-node path multiplies by the fleet's size.
 */
export async function countingProxy(redisUrl: string): Promise<CountingProxy> {
  const target = new URL(redisUrl);
  const sockets = new Set<Socket>();
  let chunks = 0;
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.on('data', () => (chunks += 1));
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  const url = new URL(redisUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    sent: () => chunks,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
