/**
 * Start-up budgets of the build (issue #13), each the median of BENCH_STARTUP_RUNS (default 5) fresh processes,
 * printed beside a reference measured in the same run on the same machine:
 *
 *   tracehound --help                      ≤ 100 ms        reference: `node -e 0` (Node's own start-up)
 *   tracehound flamegraph, 200k stacks     ≥ 10× faster than flamegraph.pl (bench/vendor), < 300 MB peak RSS
 *   API start → first 200 on /healthz      ≤ 500 ms        reference: a bare node:http server, same probe
 *   Lambda cold start (import + 1st answer) ≤ 400 ms       reference: a bare Hono app behind hono/aws-lambda
 *
 * Everything runs the build (dist/, made first if stale) with the Node that runs the bench. Redis and S3 are the
 * embedded servers, started once before timing. Peak RSS is the child's ru_maxrss, read with GNU time.
 * Run with `npx tsx bench/startup.ts`; BENCH_STACKS changes the flamegraph input (default 200,000 distinct stacks).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateToken, hashToken } from '../src/auth/tokens.ts';
import { startEmbeddedRedis } from '../src/redis/embedded-redis.ts';
import { startEmbeddedS3 } from '../src/storage/embedded-s3.ts';
import { build } from '../scripts/build.mjs';
import { freePort } from '../test/helpers/free-port.ts';
import { apiGatewayV2Event } from '../test/helpers/lambda-events.ts';
import { slashCommandRequest } from '../test/helpers/slack.ts';
import { mb, syntheticFolded } from './synthetic-profile.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const NODE = process.execPath;
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
const STACKS = Number(process.env.BENCH_STACKS ?? 200_000);
const GNU_TIME = '/usr/bin/time';
const SLACK_SECRET = 'bench-slack-signing-secret';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;
const rows: { what: string; figure: string; reference: string; budget: string; ok: boolean }[] = [];

/** Wall time (ms) and peak RSS (bytes) of one process, by GNU time; stdin from a file when given. */
function timed(cmd: string[], opts: { stdin?: string; stdout?: string } = {}): { ms: number; rss: number; stdout: string } {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} (Debian package "time") is needed to read a child's peak RSS`);
  const report = join(work, 'time.txt');
  const shell = `${GNU_TIME} -f '%e %M' -o ${report} ${cmd.map((a) => `'${a}'`).join(' ')}${opts.stdin ? ` < '${opts.stdin}'` : ''}${opts.stdout ? ` > '${opts.stdout}'` : ''}`;
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', shell], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr}`);
  const [, kb] = readFileSync(report, 'utf8').trim().split(/\s+/);
  return { ms: wall, rss: Number(kb) * 1024, stdout: r.stdout };
}

/** From spawn to the first 200 on `url`, polling every 2 ms; the process is then stopped. */
async function timeToFirst200(cmd: string[], env: Record<string, string>, url: (port: number) => string): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(cmd[0]!, cmd.slice(1), { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}`);
      const ok = await fetch(url(port)).then((r) => r.status === 200, () => false);
      if (ok) return performance.now() - t0;
      if (performance.now() - t0 > 30_000) throw new Error(`no 200 within 30 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}

const work = mkdtempSync(join(tmpdir(), 'th-bench-startup-'));
try {
  const built = await build({ ifStale: true });
  console.log(built ? `built dist/ in ${built.tookMs} ms` : 'dist/ is fresh');

  // 1. --help, spawned directly as a shell would (GNU time's own start-up would count otherwise)
  const wall = (args: string[]) => {
    const t0 = performance.now();
    const r = spawnSync(NODE, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${r.stderr}`);
    return performance.now() - t0;
  };
  const bare = median(Array.from({ length: RUNS }, () => wall(['-e', '0'])));
  const help = median(Array.from({ length: RUNS }, () => wall(['bin/tracehound.mjs', '--help'])));
  rows.push({ what: 'tracehound --help', figure: ms(help), reference: `node -e 0: ${ms(bare)}`, budget: '≤ 100 ms', ok: help <= 100 });

  // 2. flamegraph on 200k distinct stacks, whole process, against flamegraph.pl
  const input = join(work, 'stacks.folded');
  // Depth 4–14: about 45 MB for 200k stacks, the size of the profile the budget was set on (issue #13).
  writeFileSync(input, syntheticFolded({ stacks: STACKS, depth: [4, 14] }));
  const size = statSync(input).size;
  const ours = Array.from({ length: RUNS }, () => timed([NODE, 'bin/tracehound.mjs', 'flamegraph'], { stdin: input, stdout: join(work, 'ours.svg') }));
  const oursMs = median(ours.map((r) => r.ms));
  const oursRss = Math.max(...ours.map((r) => r.rss));
  // flamegraph.pl takes tens of seconds on this input: fewer runs of it (BENCH_REFERENCE_RUNS, default 3).
  const refRuns = Number(process.env.BENCH_REFERENCE_RUNS ?? 3);
  const perl = Array.from({ length: refRuns }, () => timed(['perl', join(ROOT, 'bench/vendor/flamegraph.pl'), input], { stdout: join(work, 'perl.svg') }));
  const perlMs = median(perl.map((r) => r.ms));
  const speedup = perlMs / oursMs;
  rows.push({
    what: `tracehound flamegraph, ${STACKS.toLocaleString('en')} stacks (${mb(size)})`,
    figure: `${ms(oursMs)}, peak ${mb(oursRss)}`,
    reference: `flamegraph.pl: ${ms(perlMs)}, peak ${mb(Math.max(...perl.map((r) => r.rss)))} → ${speedup.toFixed(1)}× faster`,
    budget: '≥ 10× faster, < 300 MB',
    ok: speedup >= 10 && oursRss < 300 * 1024 * 1024,
  });

  // 3. API process start → first 200 on /healthz, Redis and S3 up
  const redis = await startEmbeddedRedis({ host: '127.0.0.1', port: 0 });
  const s3 = await startEmbeddedS3({ dataDir: join(work, 's3'), bucket: 'bench', port: 0, silent: true });
  const token = generateToken();
  const access = join(work, 'access.yaml');
  writeFileSync(access, `tokens:\n  - { name: admin, sha256: ${hashToken(token)}, scopes: [admin] }\nslack:\n  rules:\n    - { channels: [C0SRE] }\n`);
  const serviceEnv = {
    REDIS_URL: redis.url,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: 'bench',
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    ACCESS_FILE: access,
    LINK_SECRET: 'bench-link-secret-0123456789abcdef0123',
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    DATA_DIR: join(work, 'data'),
    INVENTORY: 'none',
    LOG_LEVEL: 'warn',
  };
  try {
    const bareHttp = `require('node:http').createServer((q, s) => s.end('ok')).listen(+process.env.PORT, '127.0.0.1')`;
    const refHttp: number[] = [];
    const apiStart: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      refHttp.push(await timeToFirst200([NODE, '-e', bareHttp], {}, (p) => `http://127.0.0.1:${p}/healthz`));
      apiStart.push(await timeToFirst200([NODE, 'bin/tracehound.mjs', 'api'], serviceEnv, (p) => `http://127.0.0.1:${p}/healthz`));
    }
    const api = median(apiStart);
    rows.push({ what: 'API start → first 200 on /healthz', figure: ms(api), reference: `bare node:http server: ${ms(median(refHttp))}`, budget: '≤ 500 ms', ok: api <= 500 });

    // 4. Lambda cold start: a fresh process imports the function and answers its first event, an API Gateway
    // request as the Lambda tests send it: a GET, and a signed slash command (Slack gives up after 3 s).
    const bareLambda = join(work, 'bare-lambda.mjs');
    // Outside the checkout, so hono is imported by path (the same files dist/lambda.mjs bundled).
    const hono = (f: string) => JSON.stringify(join(ROOT, 'node_modules/hono/dist', f));
    writeFileSync(bareLambda, `import { Hono } from ${hono('index.js')}; import { handle } from ${hono('adapter/aws-lambda/index.js')}; const app = new Hono(); app.all('*', (c) => c.json({ items: [] })); export const handler = handle(app);\n`);
    /** ms from the process's start (performance.now()) to the first event answered 200: import, composition, answer. */
    const cold = (module: string, env: Record<string, string>, event: unknown) => {
      const script = `const { handler } = await import(${JSON.stringify(module)}); const r = await handler(${JSON.stringify(event)}, {}); if (r.statusCode !== 200) { console.error(r.statusCode, r.body); process.exit(1); } process.stdout.write(String(performance.now())); process.exit(0);`;
      const r = spawnSync(NODE, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH!, ...env }, timeout: 30_000 });
      if (r.status !== 0) throw new Error(`cold start failed: ${r.stderr}`);
      return Number(r.stdout);
    };
    const lambdaModule = join(ROOT, 'dist/lambda.mjs');
    const playbooksEvent = apiGatewayV2Event({ method: 'GET', path: '/v1/playbooks', headers: { authorization: `Bearer ${token}` } });
    const lambdaRuns: number[] = [];
    const refLambda: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      refLambda.push(cold(bareLambda, {}, playbooksEvent));
      lambdaRuns.push(cold(lambdaModule, serviceEnv, playbooksEvent));
    }
    const lambda = median(lambdaRuns);
    rows.push({ what: 'Lambda cold start (import + first answer)', figure: ms(lambda), reference: `bare Hono on hono/aws-lambda: ${ms(median(refLambda))}`, budget: '≤ 400 ms', ok: lambda <= 400 });

    const slash = Array.from({ length: RUNS }, () => {
      const req = slashCommandRequest('help', { responseUrl: 'https://hooks.slack.com/commands/T0/1/x', secret: SLACK_SECRET });
      return cold(lambdaModule, serviceEnv, apiGatewayV2Event({ method: 'POST', path: '/v1/chatops/slack/commands', headers: req.headers, body: req.body, base64: true }));
    });
    const slashMs = median(slash);
    rows.push({ what: 'Lambda cold start answering a slash command', figure: ms(slashMs), reference: `Slack's limit: 3000 ms`, budget: '< 3000 ms', ok: slashMs < 3000 });
  } finally {
    await redis.stop();
    await s3.stop();
  }

  console.log(`\nstart-up budgets (median of ${RUNS}, node ${process.version}, ${new Date().toISOString()})`);
  for (const r of rows) console.log(`${r.ok ? 'ok  ' : 'MISS'} ${r.what}: ${r.figure}   [${r.reference}]   budget ${r.budget}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
