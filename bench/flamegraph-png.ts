/**
 * Flame graph PNG cost, printed (not asserted): a folded profile of 20,000 distinct stacks (depth 10–40 over a few
 * thousand function names, deterministic pseudo-random walks over a fixed call graph with a hot path, some ending
 * in kernel frames; bench/synthetic-profile.ts, shared with bench/flamegraph.ts) is rendered to SVG, and that SVG is
 * rasterised to a 1200 px wide PNG as the profile parser does for every CPU profile.
 * Target: under 1 s and under 300 MB peak RSS (the SVG bench's memory budget) for the rasterisation. Peak RSS is the kernel's high-water mark
 * (VmHWM) of a child process that only reads the SVG and rasterises it, so generating the input and the SVG does
 * not count against it; resvg's native allocations are in it.
 * Run with `npx tsx bench/flamegraph-png.ts` (BENCH_STACKS=n to change the size, BENCH_WIDTH=px for the width).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderFlamegraphPng, staticFlamegraphSvg } from '../src/flamegraph/png.ts';
import { renderFlamegraph } from '../src/flamegraph/svg.ts';
import { mb, syntheticFolded, vmHwm } from './synthetic-profile.ts';

function rasterise(input: string, output: string, width: number): void {
  const svg = readFileSync(input, 'utf8');
  const rssBefore = process.memoryUsage().rss;
  const hwmBefore = vmHwm();
  const t0 = performance.now();
  const png = renderFlamegraphPng(svg, { width });
  const t1 = performance.now();
  const hwmPng = vmHwm();
  const rssAfter = process.memoryUsage().rss;
  writeFileSync(output, png);
  // After the peak is read: the pre-pass alone, to split the time between it and resvg.
  const t2 = performance.now();
  const stillBytes = staticFlamegraphSvg(svg).length;
  const prepassMs = performance.now() - t2;
  console.log(
    JSON.stringify({
      pngMs: t1 - t0,
      prepassMs,
      stillBytes,
      pngBytes: png.length,
      pngWidth: png.readUInt32BE(16),
      pngHeight: png.readUInt32BE(20),
      rssBefore,
      hwmBefore,
      rssAfter,
      vmHwm: hwmPng,
    }),
  );
}

const self = fileURLToPath(import.meta.url);
if (process.argv[2] === 'rasterise') {
  rasterise(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
} else {
  const stacks = Number(process.env.BENCH_STACKS ?? 20_000);
  const width = Number(process.env.BENCH_WIDTH ?? 1200);
  const dir = mkdtempSync(join(tmpdir(), 'flamegraph-png-bench-'));
  try {
    const input = join(dir, 'flamegraph.svg');
    const output = join(dir, 'flamegraph.png');
    const g0 = performance.now();
    const svg = renderFlamegraph(syntheticFolded({ stacks }), { title: 'bench' });
    writeFileSync(input, svg);
    const frames = /<!-- (\d+) frames drawn, (\d+) dropped/.exec(svg);
    console.log(
      `input: ${stacks} distinct stacks (sorted, skewed call graph) → SVG of ${mb(svg.length)}, ${frames?.[1]} frames ` +
        `drawn, ${frames?.[2]} dropped; generated and rendered in ${(performance.now() - g0).toFixed(0)} ms`,
    );
    const child = spawnSync(process.execPath, ['--import', 'tsx', self, 'rasterise', input, output, String(width)], {
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`rasterise failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    console.log(
      `png: ${r.pngWidth}×${r.pngHeight} px, ${mb(r.pngBytes!)}; renderFlamegraphPng ${r.pngMs!.toFixed(0)} ms ` +
        `(the still-picture pre-pass ${r.prepassMs!.toFixed(0)} ms of it, leaving ${mb(r.stillBytes!)} of SVG to resvg)`,
    );
    console.log(
      `rss: ${mb(r.rssBefore!)} with the SVG read, peak ${mb(r.vmHwm!)} (VmHWM; ${mb(r.hwmBefore!)} before rasterising), ` +
        `${mb(r.rssAfter!)} after`,
    );
    console.log(
      `targets: time < 1000 ms ${r.pngMs! < 1000 ? 'OK' : 'MISSED'}, peak < 300 MB ${r.vmHwm! < 300 * 1024 * 1024 ? 'OK' : 'MISSED'}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
