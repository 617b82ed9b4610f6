import { createServer } from 'node:net';

/**
 * A loopback port free at the time of asking, for servers that must be told their port (redis-server in cluster
 * mode, an API part's PORT). `below` bounds it: a cluster node also listens on its port + 10000.
 */
export async function freePort(opts: { below?: number } = {}): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((ok) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => ok(p));
      });
    });
    if (opts.below === undefined || port < opts.below) return port;
  }
}
