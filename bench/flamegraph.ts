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
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderFrameTree } from '../src/flamegraph/svg.ts';
import { FrameTreeBuilder } from '../src/flamegraph/tree.ts';
import { mb, syntheticFolded, vmHwm } from './synthetic-profile.ts';

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
    writeFileSync(input, syntheticFolded({ stacks, shuffle, uniform }));
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
