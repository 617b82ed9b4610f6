/**
 * Shared by the flame graph benches: a deterministic synthetic folded-stacks profile (so every run and both benches
 * measure the same input) and the figures they print.
 */
import { readFileSync } from 'node:fs';

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Peak RSS as the kernel records it (VmHWM); falls back to the current RSS where /proc is not there. */
export function vmHwm(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

/** xorshift32: deterministic, seedable. */
export function prng(seed: number): () => number {
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

/**
 * `stacks` distinct folded lines (depth 10–40 unless `depth` says otherwise, over a few thousand function names, pseudo-random walks over a fixed
 * call graph, some ending in kernel frames), sorted unless `shuffle`. The seed and the order of `rand()` calls are
 * fixed: changing either changes the input every recorded bench figure was measured on.
 */
export function syntheticFolded(opts: { stacks: number; shuffle?: boolean; uniform?: boolean; depth?: readonly [min: number, max: number] }): string {
  const { stacks, shuffle = false, uniform = false, depth: [minDepth, maxDepth] = [10, 40] } = opts;
  const rand = prng(0xf1a3e);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const modules = ['net', 'http', 'db', 'cache', 'json', 'crypto', 'sched', 'io', 'rpc', 'auth', 'queue', 'log'];
  const USER = 3000;
  const KERNEL = 400;
  const user = Array.from({ length: USER }, (_, i) => `${pick(modules)}::${pick(modules)}_handler_${i}(int, void*)`);
  const kernel = Array.from({ length: KERNEL }, (_, i) => `k_${pick(modules)}_func_${i}_[k]`);
  // Each function calls 2–8 others; unless `uniform` (BENCH_UNIFORM=1) the first callee is the hot path, taken 85% of
  // the time, so walks share prefixes the way real stacks do. Uniform choices make nearly every frame past depth ~6
  // distinct: a worst case (about 18 new frames per stack), not a profile.
  const HOT = 0.85;
  const callees = user.map(() => Array.from({ length: 2 + Math.floor(rand() * 7) }, () => Math.floor(rand() * USER)));
  const kcallees = kernel.map(() => Array.from({ length: 2 + Math.floor(rand() * 3) }, () => Math.floor(rand() * KERNEL)));
  // `uniform ||` short-circuits so the uniform case draws no hot-path number, keeping its sequence as it was.
  const callee = <T>(a: readonly T[]): T => (uniform || rand() >= HOT ? pick(a) : a[0]!);
  const comms = ['api-server', 'worker', 'postgres', 'nginx', 'redis-server', 'java', 'node', 'envoy'];
  const entries = Array.from({ length: 24 }, () => Math.floor(rand() * USER));

  const seen = new Set<string>();
  while (seen.size < stacks) {
    const depth = minDepth + Math.floor(rand() * (maxDepth - minDepth + 1));
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
