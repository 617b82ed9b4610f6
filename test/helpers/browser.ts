import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium package (CI installs it, see .ci/run); playwright-core never downloads a browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags this closed network needs: no sandbox (tests run as root), no GPU, and nothing that phones home
 * (QUIC, component updates, sync, background networking) and would stall or spam the log.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function check(): { ok: true } | { ok: false; reason: string } {
  if (!existsSync(CHROMIUM_PATH)) return { ok: false, reason: `${CHROMIUM_PATH} not found (apt-get install chromium)` };
  return { ok: true };
}

export const BROWSER = check();
const REQUIRED = process.env.TRACEHOUND_REQUIRE_BROWSER === '1';

/** Skip browser suites where there is no chromium, saying why — unless CI requires it, in which case they fail. */
export const skipBrowser = !BROWSER.ok && !REQUIRED;
export const browserSuiteName = (name: string) =>
  BROWSER.ok ? name : `${name} [browser unavailable: ${BROWSER.reason}]`;

export function assertBrowser(): void {
  if (!BROWSER.ok) throw new Error(`TRACEHOUND_REQUIRE_BROWSER=1 but no browser: ${BROWSER.reason}`);
}

export function launchChromium(): Promise<Browser> {
  assertBrowser();
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}

export interface StaticPage {
  contentType: string;
  body: string;
}

export interface StaticServer {
  /** http://127.0.0.1:<port> */
  origin: string;
  close(): Promise<void>;
}

/** Serves fixed pages by path (query and hash ignored) on 127.0.0.1 at a free port; anything else is a 404. */
export async function serveStatic(pages: Readonly<Record<string, StaticPage>>): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const page = Object.hasOwn(pages, path) ? pages[path] : undefined;
    if (page === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res
      .writeHead(200, { 'content-type': page.contentType, 'cache-control': 'no-store' })
      .end(req.method === 'HEAD' ? undefined : page.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
