/**
 * Fan-out benchmark: N simulated node agents (BullMQ workers in this process that answer capture jobs with a
 * recorded syscount result after the capture duration) and a fleet-wide sweep over all of them. Prints the time
 * from request to summary minus the capture duration: the dispatch overhead, for 10 → 200 nodes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { parseSyscount } from '../bpf/bpftrace/syscount/parser.ts';
import { loadConfig } from '../src/config.ts';
import type { Investigation } from '../src/core/investigation.ts';
import { NodeRegistry } from '../src/inventory/node-registry.ts';
import { createLogger } from '../src/log.ts';
import { createRedis } from '../src/queue/connection.ts';
import { captureQueueName, CaptureJob, type CaptureReply } from '../src/queue/jobs.ts';
import { startApi, startOrchestratorPart, startServices } from '../src/runtime.ts';
import type { Stoppable } from '../src/stoppable.ts';

const SIZES = (process.env.FANOUT_SIZES ?? '10,50,100,200').split(',').map(Number);
const CAPTURE_MS = 1000;
const recorded = parseSyscount(readFileSync(new URL('../bpf/bpftrace/syscount/fixtures/enospc-cgroup.json', import.meta.url), 'utf8'), {
  arch: 'x64',
  cgroupPathOf: () => '/fixture',
});
const caps = {
  kernel: '6.18.44', arch: 'x64', btf: true, tracefs: '/sys/kernel/tracing', tracers: ['nop'], perfEvents: true, kprobes: false,
  bpftrace: { available: true, version: 'bpftrace v0.17.0', reason: null }, cgroupV2: '/sys/fs/cgroup/unified',
};

const dir = mkdtempSync(join(tmpdir(), 'th-fanout-'));
writeFileSync(
  join(dir, 'sweep.yaml'),
  `name: bench-sweep\ntitle: one fleet-wide step\ndescription: fan-out benchmark\nfleetWide: true\nsteps:\n  - { id: errors, tool: syscount, title: failing syscalls, duration: 1s }\nfindings:\n  - { use: syscall-errors, step: errors }\n`,
);
const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: join(dir, 'data'), PLAYBOOKS_DIR: dir, REDIS_URL: '', S3_ENDPOINT: '', ACCESS_FILE: '', RATE_LIMIT: '100000/1m' });
const log = createLogger('silent');
const services = await startServices(config, log);
const parts: Stoppable[] = [...services.owned];
parts.push(await startOrchestratorPart(config, services, log));
const api = await startApi(config, services, log);
parts.push(api);
// No ACCESS_FILE: the API made an admin token for this run, as npm start does.
const auth = () => ({ authorization: `Bearer ${api.generatedToken!.token}` });

const redis = createRedis(services.redisUrl);
const registry = new NodeRegistry(redis, config.QUEUE_PREFIX);
const agents: { name: string; worker: Worker; connection: ReturnType<typeof createRedis> }[] = [];

async function growTo(n: number) {
  while (agents.length < n) {
    const name = `sim-${String(agents.length).padStart(3, '0')}`;
    const connection = createRedis(services.redisUrl);
    const worker = new Worker<unknown, CaptureReply>(
      captureQueueName(name),
      async (job) => {
        const data = CaptureJob.parse(job.data);
        const startedAt = new Date().toISOString();
        await new Promise((r) => setTimeout(r, data.durationMs));
        return { stepId: data.stepId, node: name, status: 'succeeded', startedAt, finishedAt: new Date().toISOString(), result: recorded, artifacts: [] };
      },
      { connection, prefix: config.QUEUE_PREFIX, concurrency: 1 },
    );
    agents.push({ name, worker, connection });
  }
  await Promise.all(agents.map((a) => registry.heartbeat({ name: a.name, labels: {}, kernel: caps.kernel, agentVersion: 'sim', capabilities: caps }, 600_000)));
}

async function sweep(): Promise<{ ms: number; inv: Investigation }> {
  const t0 = performance.now();
  const res = await fetch(`${api.url}/v1/investigations`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth() }, body: JSON.stringify({ playbook: 'bench-sweep' }) });
  const { id } = (await res.json()) as { id: string };
  for (;;) {
    const inv = (await (await fetch(`${api.url}/v1/investigations/${id}`, { headers: auth() })).json()) as Investigation;
    if (['succeeded', 'failed', 'cancelled'].includes(inv.status)) return { ms: performance.now() - t0, inv };
    await new Promise((r) => setTimeout(r, 10));
  }
}

try {
  console.log(`fan-out: one ${CAPTURE_MS} ms capture step on every live node (simulated agents answering with a recorded result)`);
  for (const n of SIZES) {
    await growTo(n);
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { ms, inv } = await sweep();
      const ok = inv.steps.filter((s) => s.status === 'succeeded').length;
      if (inv.status !== 'succeeded' || ok !== n) throw new Error(`${n} nodes: ${inv.status}, ${ok} steps succeeded`);
      runs.push(ms - CAPTURE_MS);
    }
    runs.sort((a, b) => a - b);
    console.log(`  ${String(n).padStart(3)} nodes: dispatch overhead median ${runs[1]!.toFixed(0)} ms (min ${runs[0]!.toFixed(0)}, max ${runs[2]!.toFixed(0)})`);
  }
} finally {
  await Promise.all(agents.map(async (a) => {
    await a.worker.close();
    await a.connection.quit();
  }));
  await redis.quit();
  for (const p of parts.reverse()) await p.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
