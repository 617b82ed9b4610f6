/**
 * What the running kernel offers beyond tracepoints — kprobes, fentry, function_graph, uprobes — for tests that
 * need one. On the development host (no kprobes, no fentry, no function_graph) such a suite is skipped, saying why
 * in its name; in the kernel matrix (npm run test:kernels) the stock kernels must have them, and the harness sets
 * TRACEHOUND_REQUIRE_KERNEL_FEATURES so that a missing feature fails the suite instead of skipping it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { saysFentry } from '../../workers/node-agent/capabilities.ts';

export type KernelFeature = 'kprobe' | 'fentry' | 'function_graph' | 'uprobe';

const TRACEFS = existsSync('/sys/kernel/tracing/available_tracers') ? '/sys/kernel/tracing' : '/sys/kernel/debug/tracing';

function detect(feature: KernelFeature): boolean {
  switch (feature) {
    case 'kprobe':
      return existsSync(`${TRACEFS}/kprobe_events`);
    case 'uprobe':
      return existsSync(`${TRACEFS}/uprobe_events`);
    case 'function_graph':
      try {
        return readFileSync(`${TRACEFS}/available_tracers`, 'utf8').split(/\s+/).includes('function_graph');
      } catch {
        return false;
      }
    case 'fentry':
      {
        const r = spawnSync('bpftrace', ['--info'], { encoding: 'utf8', timeout: 60_000 });
        return saysFentry(`${r.stdout ?? ''}\n${r.stderr ?? ''}`);
      }
  }
}

const cache = new Map<KernelFeature, boolean>();
export function hasFeature(f: KernelFeature): boolean {
  if (!cache.has(f)) cache.set(f, detect(f));
  return cache.get(f)!;
}

const REQUIRED = new Set((process.env.TRACEHOUND_REQUIRE_KERNEL_FEATURES ?? '').split(',').filter(Boolean));

/**
 * For `describe.skipIf(s.skip)(s.name, …)`: skipped where the kernel lacks a feature the suite needs (the name says
 * which and on what kernel), unless the matrix requires it here; then the suite runs and `s.assert()` (call it in
 * beforeAll) fails it with the reason.
 */
export function kernelSuite(name: string, needs: KernelFeature[]): { name: string; skip: boolean; assert(): void } {
  const missing = needs.filter((f) => !hasFeature(f));
  const reason = missing.length ? `kernel ${release()} has no ${missing.join(', ')}` : null;
  const required = missing.filter((f) => REQUIRED.has(f));
  return {
    name: reason ? `${name} [needs ${missing.join(', ')}: ${reason}]` : name,
    skip: reason !== null && required.length === 0,
    assert() {
      if (required.length) throw new Error(`TRACEHOUND_REQUIRE_KERNEL_FEATURES includes ${required.join(', ')}, but ${reason}`);
    },
  };
}
