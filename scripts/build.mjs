// `npm run build`: the TypeScript sources compiled by esbuild into plain JavaScript in dist/, so that nothing
// transpiles at run time.
//
//   dist/cli.mjs            the CLI and every process part (bin/tracehound.mjs runs it); npm packages stay external
//                           and each command's modules are their own chunks, so `--help` loads almost nothing
//   dist/render-worker.mjs  the render pool's worker thread
//   dist/lambda.mjs         the API as an AWS Lambda function, self-contained: npm packages bundled in, and what it
//                           loads only on demand (BullMQ, the S3 client, the Kubernetes client, the secrets clients) in dist/lambda-*.mjs,
//                           so a cold start parses only what it runs
//   dist/playbook-documents.json  every playbook's YAML parsed ahead of time, keyed by its text's hash
//                           (src/playbooks/prebuilt-documents.ts): a process that just started skips the parser
//   dist/build-info.json    what the build read, for the staleness check (scripts/build-state.mjs), and the files
//                           of the Lambda function's code (lambdaFiles)
//
// Files the sources find beside themselves through `import.meta.url` (playbooks/, each tool's program.bt) are not
// copied: every output file sits directly in dist/, one level below the repository root like src/, and each module's
// `import.meta.url` is rewritten to the URL its source file had. So a built module resolves `./program.bt` or
// `../../playbooks/` exactly as its source does, and a runtime layout is dist/ beside playbooks/ and bpf/.
//
// `node scripts/build.mjs --if-stale` builds only when dist/ is missing or older than a source it was built from.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as esbuild from 'esbuild';
import { BUILD_INFO, DIST, ROOT, buildState } from './build-state.mjs';

const SERVICE_ENTRIES = { cli: 'entry/cli.ts' };
/** Self-contained like the Lambda bundle: the Lambda function renders on worker threads too. */
const SELF_CONTAINED_ENTRIES = { lambda: 'entry/lambda.ts', 'render-worker': 'src/render/worker.ts' };
/** Node 24 is what every part runs on (package.json engines; the Lambda runtime nodejs24.x). */
const TARGET = 'node24';
const LOCK = `${DIST}.build-lock`;
/** A lock older than this was left by a build that died: taken over. */
const LOCK_STALE_MS = 120_000;

/** Rewrites `import.meta.url` in the project's own modules to the URL of their source file (see the top). */
const sourceUrls = {
  name: 'source-urls',
  setup(build) {
    build.onLoad({ filter: /\.(ts|mjs)$/ }, async (args) => {
      const rel = relative(ROOT, args.path);
      if (rel.startsWith('..') || rel.startsWith('node_modules')) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const url = `new URL(${JSON.stringify(`../${rel.split('\\').join('/')}`)}, import.meta.url).href`;
      return { contents: text.replaceAll('import.meta.url', url), loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
    });
  },
};

/**
 * `import … from 'node:http'` (or https) in an ES module costs ~50 ms here that `require('node:http')` does not:
 * Node builds the module's ES facade by reading every export, and the getters of `WebSocket`, `CloseEvent` and
 * `MessageEvent` load all of undici. Packages that import them as ES modules (@hono/node-server) get them through a
 * CommonJS shim instead, whose exports are read only when used. Measured with `node --input-type=module -e
 * "import 'node:http'"` against the same through createRequire: 130 ms against 85 ms.
 */
const httpByRequire = {
  name: 'http-by-require',
  setup(build) {
    build.onResolve({ filter: /^(node:)?https?$/ }, (args) =>
      args.kind === 'import-statement' ? { path: args.path.replace(/^node:/, ''), namespace: 'http-by-require' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'http-by-require' }, (args) => ({ contents: `module.exports = require('node:${args.path}');`, loader: 'js' }));
  },
};

const common = {
  // Entry points and the metafile's paths are relative to the repository, from whatever directory the build runs.
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: TARGET,
  outdir: DIST,
  outExtension: { '.js': '.mjs' },
  sourcemap: 'linked',
  // Names stay: errors are told apart by `name` in logs and problem documents.
  minify: true,
  keepNames: true,
  metafile: true,
  logLevel: 'warning',
  plugins: [sourceUrls, httpByRequire],
  // What marks a built module (src/render/pool.ts picks its worker's entry by it).
  define: { 'globalThis.TRACEHOUND_BUILT': 'true' },
};

/**
 * Packages with native binaries, left to node_modules: resvg (PNG flamegraphs, loaded only to draw one; a Lambda
 * deployment does without) and msgpackr's optional native extension (BullMQ falls back to plain JavaScript).
 */
const NATIVE = ['@resvg/resvg-js', 'msgpackr-extract'];

/** CommonJS packages bundled into an ES module still call require() for Node's built-ins. */
const requireShim = "import { createRequire as __thCreateRequire } from 'node:module'; const require = __thCreateRequire(import.meta.url);";

async function buildOnce() {
  const startedAt = Date.now();
  mkdirSync(DIST, { recursive: true });
  const [service, lambda] = await Promise.all([
    esbuild.build({ ...common, entryPoints: SERVICE_ENTRIES, splitting: true, chunkNames: '[name]-[hash]', banner: { js: requireShim }, external: NATIVE }),
    esbuild.build({
      ...common,
      entryPoints: SELF_CONTAINED_ENTRIES,
      splitting: true,
      chunkNames: 'lambda-[name]-[hash]',
      banner: { js: requireShim },
      external: NATIVE,
    }),
  ]);
  const outputs = new Set([...Object.keys(service.metafile.outputs), ...Object.keys(lambda.metafile.outputs)].map((p) => relative('dist', p)));
  for (const out of outputs) {
    // The source-URL rewrite holds only for files directly in dist/ (see the top).
    if (out.includes('/')) throw new Error(`build output ${out} is not directly in dist/`);
  }
  // Chunks of earlier builds: their hashes differ, nothing imports them any more.
  for (const f of readdirSync(DIST)) {
    if (/\.mjs(\.map)?$/.test(f) && !outputs.has(f)) rmSync(`${DIST}${f}`);
  }
  writePlaybookDocuments();
  const inputs = [...new Set([...Object.keys(service.metafile.inputs), ...Object.keys(lambda.metafile.inputs)])].filter((p) => !p.startsWith('node_modules/')).sort();
  // The Lambda function's code is these files beside playbooks/ (infra/aws reads the list from here).
  const lambdaFiles = [...Object.keys(lambda.metafile.outputs), 'dist/playbook-documents.json'].sort();
  writeFileSync(BUILD_INFO, `${JSON.stringify({ startedAt, tookMs: Date.now() - startedAt, lambdaFiles, inputs }, null, 1)}\n`);
  return { tookMs: Date.now() - startedAt, outputs: [...outputs].sort() };
}

/**
 * dist/playbook-documents.json: the playbooks in playbooks/ that compile, as the built code compiles them, keyed by
 * the hex SHA-256 of their text (src/playbooks/prebuild.ts writes it, src/playbooks/prebuilt-documents.ts reads it).
 * A process finding one of those texts skips parsing its YAML and CEL. Made by the build just made (`tracehound
 * playbooks documents`), so the tools and CEL declarations it was checked against are the ones that will run it; a
 * file that does not compile is left out and reported when a process starts.
 */
function writePlaybookDocuments() {
  const r = spawnSync(process.execPath, [`${DIST}cli.mjs`, 'playbooks', 'documents', `${ROOT}playbooks`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`tracehound playbooks documents failed (${r.status ?? r.signal}): ${r.stderr}`);
  if (r.stderr) process.stderr.write(r.stderr);
  writeFileSync(`${DIST}playbook-documents.json`, r.stdout);
}

/** One build at a time: bin/tracehound.mjs started twice on a stale checkout must not write dist/ twice at once. */
export async function build({ ifStale = false } = {}) {
  mkdirSync(DIST, { recursive: true });
  for (;;) {
    if (ifStale && buildState().state === 'fresh') return null;
    try {
      mkdirSync(LOCK);
    } catch {
      let age;
      try {
        age = Date.now() - statSync(LOCK).mtimeMs;
      } catch {
        continue;
      }
      if (age > LOCK_STALE_MS) rmSync(LOCK, { recursive: true, force: true });
      else await sleep(100);
      continue;
    }
    try {
      if (ifStale && buildState().state === 'fresh') return null;
      return await buildOnce();
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ifStale = process.argv.includes('--if-stale');
  const before = buildState();
  const done = await build({ ifStale });
  if (done) {
    const why = before.state === 'stale' ? ` (${before.newer} changed)` : before.state === 'missing' ? ' (no build yet)' : '';
    console.error(`built dist/ in ${done.tookMs} ms${ifStale ? why : ''}: ${done.outputs.filter((f) => /^[a-z-]+\.mjs$/.test(f)).join(', ')}`);
  }
}
