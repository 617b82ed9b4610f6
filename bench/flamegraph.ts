/**
 * Flame graph rendering cost, printed (not asserted): a folded file of 200,000 distinct stacks (depth 10–40 over a
 * few thousand function names, deterministic pseudo-random walks over a fixed call graph, some ending in kernel
 * frames) is streamed from disk in 1 MB chunks into the frame tree and rendered to SVG.
 * Target: under 1.5 s and under 300 MB peak RSS. Peak RSS is the kernel's high-water mark (VmHWM) of a child
 * process that does only the rendering, so generating the input does not count against it.
 * Run with `npx tsx bench/flamegraph.ts` (BENCH_STACKS=n to change the size, BENCH_SHUFFLE=1 for unsorted input,
 * BENCH_UNIFORM=1 for the uniform call graph worst case).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderFrameTree } from '../src/flamegraph/svg.ts';
import { FrameTreeBuilder } from '../src/flamegraph/tree.ts';

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function vmHwm(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

/** xorshift32: deterministic, seedable. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

function generate(stacks: number, shuffle: boolean, uniform: boolean): string {
  const rand = prng(0xf1a3e);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const modules = ['net', 'http', 'db', 'cache', 'json', 'crypto', 'sched', 'io', 'rpc', 'auth', 'queue', 'log'];
  const USER = 3000;
  const KERNEL = 400;
  const user = Array.from({ length: USER }, (_, i) => `${pick(modules)}::${pick(modules)}_handler_${i}(int, void*)`);
  const kernel = Array.from({ length: KERNEL }, (_, i) => `k_${pick(modules)}_func_${i}_[k]`);
  // Each function calls 2–8 others; unless BENCH_UNIFORM=1 the first callee is the hot path, taken 85% of the time,
  // so walks share prefixes the way real stacks do. Uniform choices make nearly every frame past depth ~6 distinct:
  // a worst case (about 18 new frames per stack), not a profile.
  const HOT = 0.85;
  const callees = user.map(() => Array.from({ length: 2 + Math.floor(rand() * 7) }, () => Math.floor(rand() * USER)));
  const kcallees = kernel.map(() => Array.from({ length: 2 + Math.floor(rand() * 3) }, () => Math.floor(rand() * KERNEL)));
  const callee = <T>(a: readonly T[]): T =>
    uniform || rand() >= HOT ? pick(a) : a[0]!;
  const comms = ['api-server', 'worker', 'postgres', 'nginx', 'redis-server', 'java', 'node', 'envoy'];
  const entries = Array.from({ length: 24 }, () => Math.floor(rand() * USER));

  const seen = new Set<string>();
  while (seen.size < stacks) {
    const depth = 10 + Math.floor(rand() * 31);
    const frames = [pick(comms)];
    let f = pick(entries);
    const kernelFrom = rand() < 0.35 ? depth - 2 - Math.floor(rand() * 6) : depth;
    let k = Math.floor(rand() * KERNEL);
    for (let d = 1; d < depth; d++) {
      if (d < kernelFrom) {
        frames.push(user[f]!);
        f = callee(callees[f]!);
      } else {
        frames.push(kernel[k]!);
        k = callee(kcallees[k]!);
      }
    }
    seen.add(frames.join(';'));
  }
  const lines = [...seen].map((s) => `${s} ${1 + Math.floor(rand() ** 3 * 2000)}\n`);
  if (shuffle) {
    for (let i = lines.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
    }
  } else {
    lines.sort();
  }
  return lines.join('');
}

function render(input: string, output: string): void {
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const builder = new FrameTreeBuilder();
  const fd = openSync(input, 'r');
  const buf = Buffer.alloc(1 << 20);
  let rssPeakSampled = rssBefore;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    // UTF-8 bytes go in as they are: the builder parses bytes and does not keep the (reused) buffer.
    builder.write(buf.subarray(0, n));
    rssPeakSampled = Math.max(rssPeakSampled, process.memoryUsage().rss);
  }
  closeSync(fd);
  const tree = builder.end();
  const t1 = performance.now();
  const svg = renderFrameTree(tree, { title: 'bench' });
  const t2 = performance.now();
  rssPeakSampled = Math.max(rssPeakSampled, process.memoryUsage().rss);
  writeFileSync(output, svg);
  const frames = /<!-- (\d+) frames drawn, (\d+) dropped/.exec(svg);
  console.log(
    JSON.stringify({
      parseMs: t1 - t0,
      renderMs: t2 - t1,
      totalMs: t2 - t0,
      nodes: tree.size,
      names: tree.names.length,
      drawn: Number(frames?.[1]),
      dropped: Number(frames?.[2]),
      svgBytes: svg.length,
      rssBefore,
      rssPeakSampled,
      vmHwm: vmHwm(),
    }),
  );
}

const self = fileURLToPath(import.meta.url);
if (process.argv[2] === 'render') {
  render(process.argv[3]!, process.argv[4]!);
} else {
  const stacks = Number(process.env.BENCH_STACKS ?? 200_000);
  const shuffle = process.env.BENCH_SHUFFLE === '1';
  const uniform = process.env.BENCH_UNIFORM === '1';
  const dir = mkdtempSync(join(tmpdir(), 'flamegraph-bench-'));
  try {
    const input = join(dir, 'stacks.folded');
    const output = join(dir, 'flamegraph.svg');
    const g0 = performance.now();
    writeFileSync(input, generate(stacks, shuffle, uniform));
    console.log(
      `input: ${stacks} distinct stacks (${shuffle ? 'shuffled' : 'sorted'}, ${uniform ? 'uniform' : 'skewed'} call ` +
        `graph), ${mb(statSync(input).size)}, ` +
        `generated in ${(performance.now() - g0).toFixed(0)} ms`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', self, 'render', input, output], {
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`render failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    console.log(
      `tree: ${r.nodes} frames merged, ${r.names} distinct names; parse+merge ${r.parseMs!.toFixed(0)} ms, ` +
        `layout+SVG ${r.renderMs!.toFixed(0)} ms, total ${r.totalMs!.toFixed(0)} ms`,
    );
    console.log(`svg: ${mb(r.svgBytes!)}, ${r.drawn} frames drawn, ${r.dropped} dropped (narrower than 0.1 px)`);
    console.log(
      `rss: ${mb(r.rssBefore!)} before, peak ${mb(r.vmHwm!)} (VmHWM), ${mb(r.rssPeakSampled!)} (sampled memoryUsage)`,
    );
    console.log(`targets: time < 1500 ms ${r.totalMs! < 1500 ? 'OK' : 'MISSED'}, peak < 300 MB ${r.vmHwm! < 300 * 1024 * 1024 ? 'OK' : 'MISSED'}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
