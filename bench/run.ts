/**
 * Benchmarks, printed as figures (not asserted): request → summary latency of real investigations on this host.
 * Needs root and bpftrace, like the agent. Run with `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import type { Investigation } from '../src/core/investigation.ts';
import { createLogger } from '../src/log.ts';
import { startAgentPart } from '../entry/agent.ts';
import { startApi } from '../entry/api-server.ts';
import { startOrchestratorPart } from '../entry/orchestrator.ts';
import { startServices } from '../entry/services.ts';
import type { Stoppable } from '../src/stoppable.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const dataDir = mkdtempSync(join(tmpdir(), 'th-bench-'));
const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: dataDir, REDIS_URL: '', S3_ENDPOINT: '', ACCESS_FILE: '', RATE_LIMIT: '100000/1m' });
const log = createLogger(config.LOG_LEVEL);
const services = await startServices(config, log);
const parts: Stoppable[] = [...services.owned];
parts.push(await startAgentPart(config, services, log), await startOrchestratorPart(config, services, log));
const api = await startApi(config, services, log);
parts.push(api);
// No ACCESS_FILE: the API made an admin token for this run, as npm start does.
const auth = () => ({ authorization: `Bearer ${api.generatedToken!.token}` });

async function investigate(body: unknown): Promise<{ inv: Investigation; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${api.url}/v1/investigations`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth() }, body: JSON.stringify(body) });
  const { id } = (await res.json()) as { id: string };
  for (;;) {
    const inv = (await (await fetch(`${api.url}/v1/investigations/${id}`, { headers: auth() })).json()) as Investigation;
    if (['succeeded', 'failed', 'cancelled'].includes(inv.status)) return { inv, ms: performance.now() - t0 };
    await new Promise((r) => setTimeout(r, 20));
  }
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${s[0]!.toFixed(0)} ms, median ${s[Math.floor(s.length / 2)]!.toFixed(0)} ms, max ${s[s.length - 1]!.toFixed(0)} ms`;
};

// A busy node process makes the profile symbolize a ~100 MB binary: the case that made bpftrace's own
// symbolization take longer than the capture.
const busy = spawn(process.execPath, ['-e', 'for (;;) { JSON.stringify({ a: Math.random() }); }'], { stdio: 'ignore' });

try {
  for (const [label, body] of [
    ['enospc, whole node, 5 s capture', { playbook: 'enospc', target: { node: config.NODE_NAME }, params: { duration: '5s' } }],
    ['cpu-profile, whole node, 99 Hz, 5 s capture', { playbook: 'cpu-profile', target: { node: config.NODE_NAME }, params: { duration: '5s' } }],
  ] as const) {
    const total: number[] = [];
    const capture: number[] = [];
    let last: Investigation | undefined;
    for (let i = 0; i < RUNS; i++) {
      const { inv, ms } = await investigate(body);
      last = inv;
      if (inv.status !== 'succeeded') throw new Error(`${label}: ${inv.status}: ${inv.reason}`);
      const s = inv.steps[0]!;
      total.push(ms);
      capture.push(Date.parse(s.finishedAt!) - Date.parse(s.startedAt!));
    }
    console.log(`${label} (${RUNS} runs)`);
    console.log(`  request → summary:      ${stats(total)}`);
    console.log(`  capture (spawn → exit): ${stats(capture)}`);
    console.log(`  overhead beyond capture: ${stats(total.map((t, i) => t - capture[i]!))}`);
    console.log(`  last headline: ${last?.summary?.headline}`);
  }
} finally {
  busy.kill('SIGKILL');
  for (const p of parts.reverse()) await p.stop().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
}
