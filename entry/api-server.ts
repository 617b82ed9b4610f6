/** The API as a Node HTTP server (`tracehound api`, `npm start`); AWS Lambda carries the same app (lambda.ts). */
import { composeApi } from './api.ts';
import { publicBaseUrl } from './intake.ts';
import type { Services } from './services.ts';
import { resolve } from 'node:path';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { apiTokens } from '../src/auth/bootstrap.ts';
import type { TokenEntry } from '../src/auth/tokens.ts';
import type { Config } from '../src/config.ts';
import type { Stoppable } from '../src/stoppable.ts';

/** The API as a Node HTTP server on HOST:PORT. */
export async function startApi(
  config: Config,
  services: Services,
  log: Logger,
): Promise<Stoppable & { url: string; routes: { method: string; path: string }[]; tokens: TokenEntry[]; generatedToken?: { token: string; file: string } }> {
  const tokens = await apiTokens(services.access, config.HOST, resolve(config.DATA_DIR));
  // Links point at the public URL, known only once the server listens (PORT=0 in tests): the signer asks for it.
  const listening: { url?: string } = {};
  const { app, closeStreams, closeConnections } = await composeApi(config, services, log, {
    tokens: tokens.tokens,
    publicUrl: () => publicBaseUrl(config, listening.url),
    carrier: { workAfterResponse: true },
    streaming: true,
  });
  const server = await new Promise<ReturnType<typeof serve>>((ok, fail) => {
    const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () => ok(s));
    s.once('error', fail);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const url = `http://${host}:${port}`;
  listening.url = url;
  return {
    name: 'api',
    url,
    routes: app.routes.filter((r) => r.method !== 'ALL').map((r) => ({ method: r.method, path: r.path })),
    tokens: tokens.tokens,
    ...(tokens.generated ? { generatedToken: tokens.generated } : {}),
    stop: async () => {
      await closeStreams();
      await new Promise<void>((ok) => server.close(() => ok()));
      await closeConnections();
    },
  };
}
