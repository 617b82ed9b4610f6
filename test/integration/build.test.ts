/**
 * The build (scripts/build.mjs): what it makes runs without the sources and without transpiling, from the layouts
 * it ships in — the container image's (dist/ beside playbooks/ and the tools' programs, production node_modules)
 * and the Lambda function's (dist/lambda*.mjs and playbooks/, no node_modules at all) — and each command loads only
 * the modules it needs. The global setup has built dist/ already.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, globSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateToken, hashToken } from '../../src/auth/tokens.ts';
import { build } from '../../scripts/build.mjs';
import { buildState } from '../../scripts/build-state.mjs';
import { apiGatewayV2Event } from '../helpers/lambda-events.ts';
import { uniquePrefix } from '../helpers/services.ts';
import { documentKey, readPrebuiltDocuments } from '../../src/playbooks/prebuilt-documents.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = process.execPath;
const LOG_IMPORTS = fileURLToPath(new URL('../fixtures/log-imports.mjs', import.meta.url));

/** Runs `node <args>` in `cwd`, recording every module it resolves. */
function runLogged(cwd: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}) {
  const log = join(mkdtempSync(join(tmpdir(), 'th-imports-')), 'imports.txt');
  writeFileSync(log, '');
  const r = spawnSync(NODE, ['--import', LOG_IMPORTS, ...args], { cwd, encoding: 'utf8', input: opts.input ?? '', env: { ...process.env, ...opts.env, LOG_IMPORTS: log }, timeout: 60_000 });
  const imports = readFileSync(log, 'utf8').trim().split('\n');
  rmSync(log, { force: true });
  return { ...r, imports };
}

const packagesIn = (imports: string[]) => [...new Set(imports.map((u) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)?.[1]).filter((p): p is string => p !== undefined))].sort();

describe('the build', () => {
  let image: string;
  let envForServices: Record<string, string>;

  beforeAll(() => {
    const s3 = inject('s3');
    envForServices = {
      REDIS_URL: inject('redisUrl'),
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: s3.bucket,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      QUEUE_PREFIX: uniquePrefix('build'),
      LINK_SECRET: 'build-test-link-secret-0123456789abcdef',
      INVENTORY: 'none',
      LOG_LEVEL: 'silent',
    };
    // The image's layout (Dockerfile): no src/, entry/, workers/ or TypeScript at all.
    image = mkdtempSync(join(tmpdir(), 'th-image-'));
    cpSync(join(ROOT, 'dist'), join(image, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'playbooks'), join(image, 'playbooks'), { recursive: true });
    for (const program of globSync('bpf/**/program.bt', { cwd: ROOT })) {
      mkdirSync(join(image, program, '..'), { recursive: true });
      cpSync(join(ROOT, program), join(image, program));
    }
    cpSync(join(ROOT, 'package.json'), join(image, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(image, 'node_modules'));
  });
  afterAll(() => rmSync(image, { recursive: true, force: true }));

  it('is fresh after the setup, goes stale when a source it read changes, and a rebuild makes it fresh again', async () => {
    expect(buildState()).toEqual({ state: 'fresh' });
    const source = join(ROOT, 'src/core/errors.ts');
    const { atime, mtime } = statSync(source);
    try {
      utimesSync(source, atime, new Date(Date.now() + 5_000));
      expect(buildState()).toEqual({ state: 'stale', newer: 'src/core/errors.ts' });
      const done = await build({ ifStale: true });
      expect(done?.outputs).toEqual(expect.arrayContaining(['cli.mjs', 'lambda.mjs', 'render-worker.mjs']));
    } finally {
      utimesSync(source, atime, mtime);
    }
    expect(buildState()).toEqual({ state: 'fresh' });
    // A fresh build is left alone.
    expect(await build({ ifStale: true })).toBeNull();
  });

  it('parses every playbook ahead of time, keyed as the loader computes its key (src/playbooks/prebuilt-documents.ts)', async () => {
    const { documents } = JSON.parse(readFileSync(join(ROOT, 'dist/playbook-documents.json'), 'utf8')) as { documents: Record<string, unknown> };
    const files = readdirSync(join(ROOT, 'playbooks')).filter((f) => f.endsWith('.yaml'));
    const keys = files.map((f) => documentKey(readFileSync(join(ROOT, 'playbooks', f), 'utf8')));
    expect(Object.keys(documents).sort()).toEqual([...keys].sort());
    const prebuilt = await readPrebuiltDocuments(join(ROOT, 'dist/playbook-documents.json'));
    expect(prebuilt.size).toBe(files.length);
  });

  it('holds no TypeScript loader and no reference to the sources it came from', () => {
    const code = readdirSync(join(ROOT, 'dist')).filter((f) => f.endsWith('.mjs')).map((f) => readFileSync(join(ROOT, 'dist', f), 'utf8'));
    expect(code.length).toBeGreaterThan(3);
    for (const text of code) {
      expect(text).not.toMatch(/from\s*["']tsx|import\(["']tsx/);
      expect(text).not.toMatch(/\.ts["']\)/);
    }
  });

  it('--help loads no package at all, from the image layout', () => {
    const r = runLogged(image, ['dist/cli.mjs', '--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('usage: tracehound');
    expect(packagesIn(r.imports)).toEqual([]);
    expect(r.imports.some((u) => u.includes('/src/') || u.endsWith('.ts'))).toBe(false);
  });

  it('draws a flamegraph from the image layout without the service, the Kubernetes client or resvg', () => {
    const r = runLogged(image, ['dist/cli.mjs', 'flamegraph', '--title', 'build check'], { input: 'main;crunch_alpha 90\nmain;crunch_beta 10\n' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^<\?xml|^<svg/);
    expect(r.stdout).toContain('crunch_alpha');
    const loaded = packagesIn(r.imports);
    for (const heavy of ['@aws-sdk/client-s3', 'bullmq', 'ioredis', '@kubernetes/client-node', 's3rver', '@resvg/resvg-js']) expect(loaded).not.toContain(heavy);
  });

  it('runs the API part from the image layout against configured Redis and S3, loading neither the Kubernetes client, the embedded servers nor resvg', async () => {
    const access = join(image, 'access.yaml');
    writeFileSync(access, `tokens:\n  - { name: admin, sha256: ${hashToken(generateToken())}, scopes: [admin] }\n`);
    const log = join(image, 'api-imports.txt');
    writeFileSync(log, '');
    const child = spawn(NODE, ['--import', LOG_IMPORTS, 'dist/cli.mjs', 'api'], {
      cwd: image,
      env: { ...process.env, ...envForServices, PORT: '0', ACCESS_FILE: access, DATA_DIR: join(image, 'data'), LOG_IMPORTS: log },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((ok, fail) => {
        let out = '';
        const timer = setTimeout(() => fail(new Error(`no listening line: ${out}`)), 30_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /ready: (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            ok(m[1]!);
          }
        });
        child.once('exit', (code) => fail(new Error(`api exited ${code}: ${out}`)));
      });
      const res = await fetch(`${url}/readyz`);
      expect(res.status).toBe(200);
      const imports = readFileSync(log, 'utf8').trim().split('\n');
      // Packages are bundled into dist/: from node_modules only the native extensions the build leaves out.
      expect(packagesIn(imports).filter((p) => !/msgpackr-extract|node-gyp-build|detect-libc/.test(p))).toEqual([]);
      const chunks = imports.filter((u) => u.includes('/dist/')).map((u) => u.split('/').pop()!);
      expect(chunks.some((c) => c.startsWith('api-'))).toBe(true);
      // What only the Kubernetes inventory or embedded mode needs stays unloaded (resvg, a package, is checked above).
      for (const lazy of ['kubernetes-', 'embedded-services-', 'streamable-http-', 'stdio-']) expect(chunks.filter((c) => c.startsWith(lazy))).toEqual([]);
      // BullMQ loads with the first enqueue (src/queue/producer.ts), none here; the storage client once the API
      // listens (entry/services.ts), which /readyz needed.
      expect(chunks.filter((c) => c.startsWith('open-'))).toEqual([]);
      expect(chunks.filter((c) => c.startsWith('s3-client-'))).toHaveLength(1);
    } finally {
      child.kill('SIGTERM');
      await new Promise((ok) => child.once('exit', ok));
    }
  });

  it('runs the Lambda function from its asset alone (the files build-info lists for it, and playbooks; no node_modules)', () => {
    const asset = mkdtempSync(join(tmpdir(), 'th-lambda-asset-'));
    try {
      // Exactly what infra/aws packs: dist/lambda*.mjs, the render worker, the prebuilt playbook documents.
      const { lambdaFiles } = JSON.parse(readFileSync(join(ROOT, 'dist/build-info.json'), 'utf8')) as { lambdaFiles: string[] };
      expect(lambdaFiles).toContain('dist/playbook-documents.json');
      for (const f of lambdaFiles) {
        mkdirSync(join(asset, f, '..'), { recursive: true });
        cpSync(join(ROOT, f), join(asset, f));
      }
      cpSync(join(ROOT, 'playbooks'), join(asset, 'playbooks'), { recursive: true });
      const token = generateToken();
      writeFileSync(join(asset, 'access.yaml'), `tokens:\n  - { name: admin, sha256: ${hashToken(token)}, scopes: [admin] }\n`);
      const event = apiGatewayV2Event({ method: 'GET', path: '/v1/playbooks', headers: { authorization: `Bearer ${token}` } });
      // Then an MCP tool call, after a mark in the log: the MCP SDK loads with the first request to /mcp, not before.
      const mcp = apiGatewayV2Event({
        method: 'POST',
        path: '/mcp',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_playbooks', arguments: {} } }),
      });
      const log = join(asset, 'imports.txt');
      const script = [
        `const { handler } = await import('./dist/lambda.mjs');`,
        `const r = await handler(${JSON.stringify(event)}, {});`,
        `(await import('node:fs')).appendFileSync(${JSON.stringify(log)}, 'MARK\\n');`,
        `const m = await handler(${JSON.stringify(mcp)}, {});`,
        `process.stdout.write(JSON.stringify([r, m])); process.exit(0);`,
      ].join(' ');
      const r = spawnSync(NODE, ['--import', LOG_IMPORTS, '--input-type=module', '-e', script], {
        cwd: asset,
        encoding: 'utf8',
        env: { PATH: process.env.PATH!, ...envForServices, ACCESS_FILE: join(asset, 'access.yaml'), LOG_IMPORTS: log },
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const [answer, mcpAnswer] = JSON.parse(r.stdout) as { statusCode: number; body: string }[];
      expect(answer!.statusCode, answer!.body).toBe(200);
      expect(mcpAnswer!.statusCode, mcpAnswer!.body).toBe(200);
      const tool = JSON.parse(mcpAnswer!.body) as { result: { content: { text: string }[] } };
      expect((JSON.parse(tool.result.content[0]!.text) as { playbooks: unknown[] }).playbooks.length).toBeGreaterThan(3);
      const names = (JSON.parse(answer!.body) as { items: { name: string }[] }).items.map((p) => p.name);
      expect(names).toEqual(expect.arrayContaining(readdirSync(join(ROOT, 'playbooks')).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, ''))));
      // A cold start that answers from Redis and the playbooks parses neither BullMQ nor the AWS SDK (issue #13).
      const [cold, later] = readFileSync(log, 'utf8').split('MARK\n').map((part) => part.trim().split('\n').filter((u) => u.includes('/dist/')).map((u) => u.split('/').pop()!));
      const chunks = cold!;
      expect(chunks).toContain('lambda.mjs');
      expect(chunks.filter((c) => /^lambda-(open|s3-client|streamable-http)-/.test(c))).toEqual([]);
      expect(later!.filter((c) => c.startsWith('lambda-streamable-http-'))).toHaveLength(1);
      expect(readdirSync(join(asset, 'dist')).filter((c) => /^lambda-(open|s3-client)-\w+\.mjs$/.test(c))).toHaveLength(2);
    } finally {
      rmSync(asset, { recursive: true, force: true });
    }
  });
});
