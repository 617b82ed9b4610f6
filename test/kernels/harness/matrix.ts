/**
 * `npm run test:kernels`: the kernel matrix. Boots each stock kernel of test/kernels/kernels.json in a guest and runs
 * the kernel suite (vitest.kernels.config.ts: every `*.kernel.test.ts`) inside it — Redis, S3 and the agent all in
 * the guest, on its loopback; results come back through the shared folder — then runs the same suite on this host,
 * the matrix's last column. Prints kernel × suite → passed / failed / skipped (why), with each kernel's time, and
 * writes the same as kernel-matrix.md and kernel-matrix.json under the output folder.
 *
 * On a stock kernel every feature the suites need is required (TRACEHOUND_REQUIRE_KERNEL_FEATURES, and
 * TRACEHOUND_REQUIRE_BPF): a suite that would skip there fails instead, and so does a kernel that did not boot or
 * report. On the host, suites needing what it lacks (kprobes, fentry, function_graph) are skipped, saying why.
 *
 *   npm run test:kernels [-- --kernels debian12-6.1,debian13-6.12] [--no-host] [--out DIR] [--filter PATTERN]
 *
 * The guests run at the same time, one virtual CPU each: the suite runs one file at a time and bpftrace compiles on
 * one thread, so a second vCPU bought a guest little, while two guests side by side use both of this machine's
 * cores (--sequential runs them one after another, with two vCPUs each). The host's column runs after them.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join, resolve } from 'node:path';
import { cacheDir, loadMatrix, REPO } from './config.ts';
import { runInGuest } from './guest.ts';
import { initramfsFor } from './initramfs.ts';
import { unpackedKernel } from './kernel-package.ts';

const REQUIRED_FEATURES = 'kprobe,fentry,function_graph,uprobe';
/** A whole guest run, boot to power-off; the suite's own timeouts are shorter. */
const GUEST_TIMEOUT_MS = 20 * 60_000;

type Outcome = 'passed' | 'failed' | 'skipped';
interface SuiteResult {
  /** "bpf/tracefs/funcgraph/funcgraph.kernel.test.ts › funcgraph on a stock kernel" */
  suite: string;
  outcome: Outcome;
  tests: { passed: number; failed: number; skipped: number };
  /** Why it was skipped (from the suite's name), or the first failure's message. */
  note?: string;
  seconds: number;
}
interface Column {
  id: string;
  title: string;
  kernel: string;
  /** Null when the run produced no report (the guest did not boot, crashed or ran out of time). */
  suites: SuiteResult[] | null;
  problem?: string;
  wallSeconds: number;
}

function args() {
  const argv = process.argv.slice(2);
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    kernels: value('--kernels')?.split(',').filter(Boolean),
    host: !argv.includes('--no-host'),
    out: resolve(value('--out') ?? join(REPO, '.tracehound', 'kernel-matrix')),
    filter: value('--filter'),
    sequential: argv.includes('--sequential'),
  };
}

/** vitest's JSON report, as much of it as the matrix reads. */
interface VitestReport {
  testResults: Array<{
    name: string;
    message?: string;
    assertionResults: Array<{ ancestorTitles: string[]; title: string; status: string; duration?: number | null; failureMessages?: string[] }>;
  }>;
}

/** A suite is a file and its top-level describe; its skip reason is the bracket its name ends with. */
export function suitesOf(report: VitestReport): SuiteResult[] {
  const byKey = new Map<string, SuiteResult>();
  for (const file of report.testResults) {
    const rel = file.name.startsWith(REPO) ? file.name.slice(REPO.length) : file.name;
    if (file.assertionResults.length === 0) {
      byKey.set(rel, { suite: rel, outcome: 'failed', tests: { passed: 0, failed: 1, skipped: 0 }, note: (file.message ?? 'the file did not run').split('\n')[0], seconds: 0 });
    }
    for (const t of file.assertionResults) {
      const top = t.ancestorTitles[0] ?? t.title;
      const name = top.replace(/\s*\[[^\]]*\]$/, '');
      const key = `${rel} › ${name}`;
      const s = byKey.get(key) ?? { suite: key, outcome: 'passed' as Outcome, tests: { passed: 0, failed: 0, skipped: 0 }, seconds: 0 };
      byKey.set(key, s);
      s.seconds += (t.duration ?? 0) / 1000;
      if (t.status === 'passed') s.tests.passed++;
      else if (t.status === 'failed') {
        s.tests.failed++;
        s.note ??= (t.failureMessages?.[0] ?? 'failed').split('\n')[0]!.slice(0, 300);
      } else {
        s.tests.skipped++;
        s.note ??= /\[([^\]]*)\]$/.exec(top)?.[1] ?? 'skipped';
      }
    }
  }
  for (const s of byKey.values()) {
    s.outcome = s.tests.failed > 0 ? 'failed' : s.tests.passed === 0 ? 'skipped' : 'passed';
    if (s.outcome === 'passed') delete s.note;
  }
  return [...byKey.values()].sort((a, b) => a.suite.localeCompare(b.suite));
}

const vitestCommand = (reportFile: string, filter?: string) =>
  ['node_modules/.bin/vitest', 'run', '--config', 'vitest.kernels.config.ts', '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...(filter ? [filter] : [])];

async function guestColumn(id: string, out: string, filter: string | undefined, cpus: number, live: boolean): Promise<Column> {
  const k = loadMatrix().find((x) => x.id === id);
  if (!k) throw new Error(`no kernel ${id} in test/kernels/kernels.json`);
  const t0 = performance.now();
  const cache = cacheDir();
  const kernel = unpackedKernel(cache, k);
  const share = join(out, id);
  rmSync(share, { recursive: true, force: true });
  mkdirSync(share, { recursive: true });
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  console.log(`\n=== ${k.title}: ${kernel.release} (${k.package} ${kernel.packageVersion}) ===`);
  const r = await runInGuest({
    kernel,
    initramfs: initramfsFor(cache, kernel),
    script: `exec ${vitestCommand('/kshare/results.json', filter).map(quote).join(' ')}\n`,
    cwd: REPO,
    env: { TRACEHOUND_REQUIRE_BPF: '1', TRACEHOUND_REQUIRE_KERNEL_FEATURES: REQUIRED_FEATURES, CI: '1' },
    share,
    timeoutMs: GUEST_TIMEOUT_MS,
    cpus,
    // Side by side, each guest's output would interleave: it is printed whole when the guest ends.
    ...(live ? { onOutput: (t: string) => process.stdout.write(t) } : {}),
  });
  if (!live) console.log(`\n=== ${k.title}: output ===\n${r.output}`);
  const report = join(share, 'results.json');
  const column: Column = { id, title: k.title, kernel: kernel.release, suites: null, wallSeconds: (performance.now() - t0) / 1000 };
  if (existsSync(report)) column.suites = suitesOf(JSON.parse(readFileSync(report, 'utf8')) as VitestReport);
  if (r.exitCode === null) {
    column.problem = `the guest reported no exit code${r.timedOut ? ` within ${GUEST_TIMEOUT_MS / 60_000} min` : ''}; console tail:\n${r.console.split('\n').slice(-25).join('\n')}`;
  } else if (!column.suites) {
    column.problem = `the suite wrote no report (exit ${r.exitCode}): see ${join(share, 'output.log')}`;
  }
  return column;
}

async function hostColumn(out: string, filter: string | undefined): Promise<Column> {
  const t0 = performance.now();
  const share = join(out, 'host');
  rmSync(share, { recursive: true, force: true });
  mkdirSync(share, { recursive: true });
  const report = join(share, 'results.json');
  console.log(`\n=== this host: ${release()} ===`);
  const [cmd, ...rest] = vitestCommand(report, filter);
  const code = await new Promise<number | null>((ok) => {
    const child = spawn(cmd!, rest, { cwd: REPO, stdio: 'inherit', env: { ...process.env, TRACEHOUND_REQUIRE_BPF: '1' } });
    child.once('exit', ok);
  });
  const column: Column = { id: 'host', title: 'this host', kernel: release(), suites: null, wallSeconds: (performance.now() - t0) / 1000 };
  if (existsSync(report)) column.suites = suitesOf(JSON.parse(readFileSync(report, 'utf8')) as VitestReport);
  else column.problem = `the suite wrote no report (exit ${code})`;
  return column;
}

function cell(s: SuiteResult | undefined): string {
  if (!s) return '—';
  if (s.outcome === 'passed') return `ran: ${s.tests.passed} passed${s.tests.skipped ? `, ${s.tests.skipped} skipped` : ''} (${s.seconds.toFixed(0)} s)`;
  if (s.outcome === 'skipped') return `skipped: ${s.note}`;
  return `**failed**: ${s.note}`;
}

function render(columns: Column[]): string {
  const suites = [...new Set(columns.flatMap((c) => c.suites?.map((s) => s.suite) ?? []))].sort();
  const head = `| suite | ${columns.map((c) => `${c.title} (${c.kernel})`).join(' | ')} |`;
  const rows = suites.map((name) => `| ${name} | ${columns.map((c) => cell(c.suites?.find((s) => s.suite === name))).join(' | ')} |`);
  const times = `| suite time | ${columns.map((c) => `${c.wallSeconds.toFixed(0)} s${c.problem ? ' — **no report**' : ''}`).join(' | ')} |`;
  return [head, `| --- | ${columns.map(() => '---').join(' | ')} |`, ...rows, times].join('\n');
}

/** What fails the matrix: a guest without a report, a failed suite anywhere, a skipped suite on a stock kernel. */
export function failures(columns: Column[]): string[] {
  const out: string[] = [];
  for (const c of columns) {
    if (c.problem) out.push(`${c.id}: ${c.problem}`);
    for (const s of c.suites ?? []) {
      if (s.outcome === 'failed') out.push(`${c.id}: ${s.suite} failed: ${s.note}`);
      if (s.outcome === 'skipped' && c.id !== 'host') out.push(`${c.id}: ${s.suite} was skipped (${s.note}): a stock kernel must run it`);
    }
  }
  return out;
}

async function main() {
  const a = args();
  mkdirSync(a.out, { recursive: true });
  const ids = a.kernels ?? loadMatrix().map((k) => k.id);
  const columns: Column[] = [];
  if (a.sequential) for (const id of ids) columns.push(await guestColumn(id, a.out, a.filter, 2, true));
  else columns.push(...(await Promise.all(ids.map((id) => guestColumn(id, a.out, a.filter, 1, ids.length === 1)))));
  if (a.host) columns.push(await hostColumn(a.out, a.filter));
  const table = render(columns);
  writeFileSync(join(a.out, 'kernel-matrix.md'), `${table}\n`);
  writeFileSync(join(a.out, 'kernel-matrix.json'), `${JSON.stringify(columns, null, 1)}\n`);
  console.log(`\nkernel matrix (${join(a.out, 'kernel-matrix.md')}):\n\n${table}\n`);
  const failed = failures(columns);
  if (failed.length) {
    console.error(`kernel matrix FAILED:\n- ${failed.join('\n- ')}`);
    process.exit(1);
  }
  console.log('kernel matrix passed');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
