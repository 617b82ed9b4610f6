import { createServer } from 'node:http';
import { metrics } from './metrics.ts';

/**
 * `/metrics` for the parts that serve no API (`tracehound orchestrator`, `tracehound agent`) when METRICS_PORT is
 * set: Prometheus scrapes each process for what it counts (captures on agents, investigations ended on
 * orchestrators).
 */
export async function startMetricsServer(port: number, host: string): Promise<{ url: string; stop(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    metrics.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, ok);
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`,
    stop: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
