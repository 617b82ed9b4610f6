/**
 * User-stack symbolization cost, printed (not asserted): the first load of node's own symbol table (a ~100 MB ELF,
 * the case that made bpftrace's symbolization too slow) and the per-address cost once loaded.
 * Run with `npx tsx bench/symbolize.ts`; needs nothing but Linux.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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
