/**
 * User-stack symbolization cost, printed (not asserted): the first load of node's own symbol table (a ~100 MB ELF,
 * the case that made bpftrace's symbolization too slow) and the per-address cost once loaded; then the same for a
 * perf map of over a million lines (BENCH_PERF_MAP_LINES), with the ELF figures as the reference.
 * Run with `npx tsx bench/symbolize.ts`; needs nothing but Linux.
 */
import { mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PerfMapCache } from '../workers/node-agent/symbols/perf-map.ts';
import { parseProcMaps } from '../workers/node-agent/symbols/proc-maps.ts';
import { ElfCache, UserSymbolizer } from '../workers/node-agent/symbols/user-symbolizer.ts';

const LOOKUPS = Number(process.env.BENCH_LOOKUPS ?? 100_000);
const pid = process.pid;
const nodePath = realpathSync(process.execPath);
const text = parseProcMaps(readFileSync(`/proc/${pid}/maps`, 'utf8')).filter((m) => m.path === nodePath);
if (text.length === 0) throw new Error(`no executable mapping of ${nodePath} in /proc/${pid}/maps`);
const spans = text.map((m) => ({ start: m.start, length: Number(m.end - m.start) }));
const total = spans.reduce((n, s) => n + s.length, 0);

// Uniform over all executable bytes of the node binary.
function randomAddress(): bigint {
  let at = Math.floor(Math.random() * total);
  for (const s of spans) {
    if (at < s.length) return s.start + BigInt(at);
    at -= s.length;
  }
  throw new Error('unreachable');
}
const addresses = Array.from({ length: LOOKUPS }, randomAddress);

// Retained memory is only visible after a full GC; the load itself leaves much garbage behind.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const retained = () => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

const cache = new ElfCache();
const before = retained();
const t0 = performance.now();
const first = new UserSymbolizer({ cache }).resolve(pid, addresses[0] ?? 0n);
const loadMs = performance.now() - t0;
const held = retained() - before;

const symbolizer = new UserSymbolizer({ cache });
let named = 0;
const t1 = performance.now();
for (const a of addresses) if (symbolizer.resolve(pid, a) !== null) named++;
const lookupMs = performance.now() - t1;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
console.log(`node binary: ${nodePath}, ${mb(total)} executable in ${text.length} mapping(s)`);
console.log(`first load of its symbol table: ${loadMs.toFixed(0)} ms (first address → ${first ?? 'null'})`);
console.log(`memory the cached table holds: ${mb(held)}`);
console.log(
  `${LOOKUPS} lookups: ${lookupMs.toFixed(0)} ms total, ${((lookupMs * 1000) / LOOKUPS).toFixed(2)} µs each, ` +
    `${((named / LOOKUPS) * 100).toFixed(1)}% named`,
);

// A JIT's perf map of over a million lines (a long-running node --perf-basic-prof or a big JVM): parse time, lookup
// rate and memory, beside the ELF figures above, measured in the same run. Synthetic lines in node's format,
// written in allocation order (not sorted) with some address ranges reused, as a JIT does.
const MAP_LINES = Number(process.env.BENCH_PERF_MAP_LINES ?? 1_200_000);
const mapDir = mkdtempSync(join(tmpdir(), 'th-bench-perfmap-'));
try {
  const mapPath = join(mapDir, 'perf-1.map');
  const base = 0x7f40c4000000;
  const lines: string[] = [];
  for (let i = 0; i < MAP_LINES; i++) {
    // Every 50th entry reuses the range of an earlier one (code freed and recompiled).
    const slot = i % 50 === 49 ? (i * 7919) % (i + 1) : i;
    lines.push(`${(base + ((slot * 104_729) % MAP_LINES) * 0x200).toString(16)} ${(0x40 + (i % 0x1c0)).toString(16)} JS:*fn${i} /srv/app/lib/module${i % 997}.js:${i % 4000}:${i % 80}`);
  }
  writeFileSync(mapPath, `${lines.join('\n')}\n`);
  const mapBytes = statSync(mapPath).size;
  lines.length = 0;
  const rssBefore = process.memoryUsage().rss;
  const heldBefore = retained();
  const perfMaps = new PerfMapCache();
  const t2 = performance.now();
  const map = perfMaps.load(mapPath, null);
  const mapParseMs = performance.now() - t2;
  if (map === null) throw new Error('perf map not read');
  const mapHeld = retained() - heldBefore;
  const rssGrowth = process.memoryUsage().rss - rssBefore;
  const jitAddresses = Array.from({ length: LOOKUPS }, () => BigInt(base + Math.floor(Math.random() * MAP_LINES) * 0x200 + 0x20));
  let jitNamed = 0;
  const t3 = performance.now();
  for (const a of jitAddresses) if (map.lookup(a) !== null) jitNamed++;
  const mapLookupMs = performance.now() - t3;
  const t4 = performance.now();
  perfMaps.load(mapPath, null);
  const cachedMs = performance.now() - t4;
  console.log(`perf map: ${MAP_LINES.toLocaleString('en')} lines, ${mb(mapBytes)}`);
  console.log(`  parse (first read): ${mapParseMs.toFixed(0)} ms (reference: node's ELF symbol table above, ${loadMs.toFixed(0)} ms)`);
  console.log(`  read again unchanged (cache hit): ${cachedMs.toFixed(1)} ms`);
  console.log(`  memory the parsed map holds: ${mb(mapHeld)} (RSS grew ${mb(rssGrowth)}; ELF table above: ${mb(held)})`);
  console.log(
    `  ${LOOKUPS} lookups: ${mapLookupMs.toFixed(0)} ms total, ${((mapLookupMs * 1000) / LOOKUPS).toFixed(2)} µs each ` +
      `(ELF: ${((lookupMs * 1000) / LOOKUPS).toFixed(2)} µs), ${((jitNamed / LOOKUPS) * 100).toFixed(1)}% named`,
  );
} finally {
  rmSync(mapDir, { recursive: true, force: true });
}
