/**
 * Fan-out benchmark: a fleet-wide sweep (one 1 s capture step on every live node) over N simulated node agents, from
 * 10 to 5,000. Prints the time from request to ended record minus the capture duration — the orchestrator's overhead
 * (intake, dispatch, collect, report) — beside its budget (#12: ≤ 1 s at 1,000 nodes, ≤ 3 s at 5,000), PASS/FAIL,
 * and references measured in the same run on the same Redis: dispatch alone the way it was before #12 (one awaited
 * Queue.add per node), and N Redis round trips one after another, the floor of any path that talks to Redis once per
 * node (the path before #12 made three per node and step, and its watchdog three per capture at every look).
 *
 * The simulated fleet runs in a child process (this file again, FANOUT_ROLE=fleet), so its work does not share
 * the orchestrator's event loop: real agents run on their own machines. Its Redis work is real — each capture is
 * taken (moved to active) and completed through BullMQ's own scripts, as an agent's are — but it does not keep a
 * blocking connection per node: it waits on every node's queue marker at once (one BZPOPMIN), then takes what
 * each queue holds. Each agent answers with a recorded syscount result after the capture's duration.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseSyscount } from '../bpf/bpftrace/syscount/parser.ts';
import { loadConfig } from '../src/config.ts';
import type { Investigation } from '../src/core/investigation.ts';
import { NodeRegistry } from '../src/inventory/node-registry.ts';
import { createLogger } from '../src/log.ts';
import { CaptureJob, type CaptureReply } from '../src/queue/jobs.ts';
import { captureQueue } from '../src/queue/queues.ts';
import { createRedis } from '../src/redis/connection.ts';
import { RedisKeys } from '../src/redis/keys.ts';
import type { Stoppable } from '../src/stoppable.ts';

const SIZES = (process.env.FANOUT_SIZES ?? '10,50,100,200,1000,5000').split(',').map(Number);
const RUNS = 3;
const CAPTURE_MS = 1000;
/** #12's budgets for the orchestrator's overhead, by fleet size. */
const BUDGET_MS: Record<number, number> = { 1000: 1000, 5000: 3000 };

/** Messages between the bench and its simulated fleet. */
type ToFleet = { kind: 'grow'; size: number } | { kind: 'serve'; count: number } | { kind: 'stop' };
type FromFleet = { kind: 'grown' } | { kind: 'served'; taken: number } | { kind: 'error'; message: string };

const ROLE = process.env.FANOUT_ROLE ?? 'bench';
if (ROLE === 'fleet') await runFleet();
else await runBench();

async function runBench(): Promise<void> {
  // Imported here: the fleet process needs none of the service.
  const [{ startApi }, { startOrchestratorPart }, { startServices }] = await Promise.all([import('../entry/api-server.ts'), import('../entry/orchestrator.ts'), import('../entry/services.ts')]);
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
  const auth = { authorization: `Bearer ${api.generatedToken!.token}` };
  const redis = createRedis(services.redis);
  const subscriber = createRedis(services.redis);
  const keys = new RedisKeys(config.QUEUE_PREFIX);

  const fleet = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, FANOUT_ROLE: 'fleet', FANOUT_REDIS_URL: services.redis.url, FANOUT_PREFIX: config.QUEUE_PREFIX } });
  const ask = (msg: ToFleet) => askFleet(fleet, msg);

  // The record's status is its second field (the records are written from spreads of the first one), so the end of
  // a run is seen from the first bytes of the record on each change, not from reading a record of 5,000 steps.
  const changed = new Map<string, () => void>();
  await subscriber.subscribe(keys.changeChannel());
  subscriber.on('message', (_channel: string, id: string) => changed.get(id)?.());
  const statusOf = async (id: string) => /"status":"(\w+)"/.exec(await redis.getrange(keys.investigation(id), 0, 200))?.[1];
  const ended = (status: string | undefined) => status === 'succeeded' || status === 'failed' || status === 'cancelled';

  /**
   * Where one run's overhead went, from the record's own times (ms): to the run's start (intake, the orchestrator
   * taking the job); to the first capture taken (placement, planning, queueing); until the last was taken (queueing
   * the rest, the agents taking them); from the last capture's end to the run's finish (agents completing, the wake-up,
   * collecting); and finishing (summary, report files, final record) until the bench saw the end.
   */
  const partsOf = (inv: Investigation, requestedAt: number, seenAt: number) => {
    const times = (f: 'startedAt' | 'finishedAt') => inv.steps.map((st) => Date.parse(st[f]!));
    const [taken, done] = [times('startedAt'), times('finishedAt')];
    const [start, finish] = [Date.parse(inv.startedAt!), Date.parse(inv.finishedAt!)];
    return { start: start - requestedAt, firstTaken: Math.min(...taken) - start, allTaken: Math.max(...taken) - Math.min(...taken), collect: finish - Math.max(...done), finish: seenAt - finish };
  };
  type Parts = ReturnType<typeof partsOf>;

  async function sweep(n: number): Promise<{ overhead: number; parts: Parts }> {
    const serving = ask({ kind: 'serve', count: n });
    const requestedAt = Date.now();
    const t0 = performance.now();
    const res = await fetch(`${api.url}/v1/investigations`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ playbook: 'bench-sweep' }) });
    const { id } = (await res.json()) as { id: string };
    await new Promise<void>((done) => {
      const look = () => void statusOf(id).then((s) => (ended(s) ? done() : undefined));
      changed.set(id, look);
      look();
    });
    const ms = performance.now() - t0;
    const seenAt = Date.now();
    changed.delete(id);
    await serving;
    const inv = (await (await fetch(`${api.url}/v1/investigations/${id}`, { headers: auth })).json()) as Investigation;
    const ok = inv.steps.filter((s) => s.status === 'succeeded').length;
    if (inv.status !== 'succeeded' || ok !== n) throw new Error(`${n} nodes: ${inv.status}, ${ok} steps succeeded (${inv.reason ?? ''})`);
    return { overhead: ms - CAPTURE_MS, parts: partsOf(inv, requestedAt, seenAt) };
  }

  /** A reference: `n` Redis round trips, each awaited before the next, as a per-node path makes them. */
  async function roundTrips(n: number): Promise<number> {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await redis.get(keys.node(`sim-${i}`));
    return performance.now() - t0;
  }

  /**
   * The other reference: dispatch as it was before #12 — one Queue.add per node, each awaited, children of a parked
   * parent — on the same Redis, under a prefix of its own that no simulated agent serves. Its keys are removed after.
   */
  async function perNodeDispatch(n: number): Promise<number> {
    const prefix = `${config.QUEUE_PREFIX}-reference`;
    const parents = new Queue('reference-parents', { connection: redis, prefix });
    const parent = await parents.add('investigate', {}, { jobId: `ref-${n}` });
    const queues = Array.from({ length: n }, (_, i) => new Queue(captureQueue(`sim-${i}`).name, { connection: redis, prefix }));
    const t0 = performance.now();
    for (const [i, q] of queues.entries()) {
      await q.add('syscount', { i }, { jobId: `ref-${n}.errors.sim-${i}`, parent: { id: parent.id!, queue: parent.queueQualifiedName }, ignoreDependencyOnFailure: true });
    }
    const ms = performance.now() - t0;
    await Promise.all([parents, ...queues].map((q) => q.close()));
    for (let cursor = '0'; ; ) {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (found.length > 0) await redis.del(...found);
      if ((cursor = next) === '0') break;
    }
    return ms;
  }

  let failed = false;
  try {
    console.log(`fan-out: one ${CAPTURE_MS} ms capture step on every live node (simulated agents in a child process answering with a recorded result)`);
    const measured: { n: number; runs: Awaited<ReturnType<typeof sweep>>[] }[] = [];
    for (const n of SIZES) {
      await ask({ kind: 'grow', size: n });
      const runs: Awaited<ReturnType<typeof sweep>>[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await sweep(n));
      measured.push({ n, runs: runs.sort((a, b) => a.overhead - b.overhead) });
    }
    // References after every sweep, so their keys never lengthen a sweep's scan of the registry.
    console.log(`  overhead = request to ended record minus the capture; median of ${RUNS} (min, max)`);
    for (const { n, runs } of measured) {
      const { overhead: median, parts } = runs[Math.floor(RUNS / 2)]!;
      const budget = BUDGET_MS[n];
      const verdict = budget === undefined ? 'no budget' : `budget ≤ ${budget} ms: ${median <= budget ? 'PASS' : 'FAIL'}`;
      if (budget !== undefined && median > budget) failed = true;
      const [perNode, trips] = [await perNodeDispatch(n), await roundTrips(n)];
      console.log(
        `  ${String(n).padStart(4)} nodes: overhead ${median.toFixed(0)} ms (min ${runs[0]!.overhead.toFixed(0)}, max ${runs.at(-1)!.overhead.toFixed(0)}) · ${verdict}` +
          ` · reference: per-node dispatch alone (one Queue.add per node, as before #12) ${perNode.toFixed(0)} ms, ${n} Redis round trips ${trips.toFixed(0)} ms`,
      );
      console.log(
        `        median run: to start ${parts.start} · to first capture ${parts.firstTaken} · all taken ${parts.allTaken} · last capture to finish ${parts.collect} · finish ${parts.finish} (ms)`,
      );
    }
  } finally {
    await ask({ kind: 'stop' }).catch(() => undefined);
    await subscriber.quit();
    await redis.quit();
    for (const p of parts.reverse()) await p.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  if (failed) {
    console.log('fan-out: a budget was missed');
    process.exitCode = 1;
  }
}

function askFleet(fleet: ChildProcess, msg: ToFleet): Promise<void> {
  return new Promise((ok, fail) => {
    const answer = (m: FromFleet) => {
      fleet.off('message', answer);
      if (m.kind === 'error') fail(new Error(`simulated fleet: ${m.message}`));
      else ok();
    };
    fleet.on('message', answer);
    fleet.send(msg);
    if (msg.kind === 'stop') fleet.once('exit', () => ok());
  });
}

/** The simulated fleet: node heartbeats, and for each node a worker that takes its captures without blocking. */
async function runFleet(): Promise<void> {
  const url = process.env.FANOUT_REDIS_URL!;
  const prefix = process.env.FANOUT_PREFIX!;
  const recorded = parseSyscount(readFileSync(new URL('../bpf/bpftrace/syscount/fixtures/enospc-cgroup.json', import.meta.url), 'utf8'), { arch: 'x64', cgroupPathOf: () => '/fixture' });
  const caps = {
    kernel: '6.18.44', arch: 'x64', btf: true, tracefs: '/sys/kernel/tracing', tracers: ['nop'], perfEvents: true, kprobes: false,
    bpftrace: { available: true, version: 'bpftrace v0.17.0', reason: null }, cgroupV2: '/sys/fs/cgroup/unified',
  };
  // A few connections shared by every simulated agent; one more for waiting on the queues' markers.
  const connections: Redis[] = Array.from({ length: 4 }, () => createRedis(url));
  const waiter = createRedis(url);
  const registry = new NodeRegistry(connections[0]!, prefix);
  const agents: { name: string; worker: Worker }[] = [];
  const pending = new Set<Promise<unknown>>();

  const grow = async (size: number) => {
    while (agents.length < size) {
      const name = `sim-${String(agents.length).padStart(4, '0')}`;
      const connection = connections[agents.length % connections.length]!;
      agents.push({ name, worker: new Worker(captureQueue(name).name, null, { connection, prefix, autorun: false }) });
    }
    // Each worker checks its connection once (Redis version, scripts) before its first job: done here, not in a sweep.
    await Promise.all(agents.map((a) => a.worker.waitUntilReady()));
    await Promise.all(agents.map((a) => registry.heartbeat({ name: a.name, labels: {}, kernel: caps.kernel, agentVersion: 'sim', capabilities: caps }, 3_600_000)));
  };

  /** Takes a waiting capture off `agent`'s queue, and completes it after its duration, as an agent would. */
  const take = async (agent: { name: string; worker: Worker }): Promise<boolean> => {
    const token = randomUUID();
    const job = (await agent.worker.getNextJob(token, { block: false })) as Job | undefined;
    if (!job) return false;
    const data = CaptureJob.parse(job.data);
    const startedAt = new Date().toISOString();
    const done = new Promise((r) => setTimeout(r, data.durationMs)).then(() => {
      const reply: CaptureReply = { stepId: data.stepId, node: agent.name, status: 'succeeded', startedAt, finishedAt: new Date().toISOString(), result: recorded, artifacts: [] };
      return job.moveToCompleted(reply, token, false);
    });
    pending.add(done);
    void done.finally(() => pending.delete(done));
    return true;
  };

  /** Serves `count` captures: waits for any queue's marker, then takes what the queues hold until all are taken. */
  const serve = async (count: number) => {
    const markers = agents.map((a) => a.worker.toKey('marker'));
    let taken = 0;
    await waiter.bzpopmin(...markers, 30);
    // Each node runs one capture per sweep: only the queues not served yet are looked at, so the looking (one
    // pipeline of LLENs) shrinks as captures are taken and costs Redis little while dispatch is still adding them.
    let unserved = agents;
    while (taken < count) {
      const lengths = (await connections[0]!.pipeline(unserved.map((a) => ['llen', a.worker.toKey('wait')])).exec()) ?? [];
      const ready = unserved.filter((_, i) => Number(lengths[i]?.[1] ?? 0) > 0);
      const got = await Promise.all(ready.map(take));
      taken += got.filter(Boolean).length;
      const served = new Set(ready.filter((_, i) => got[i]));
      unserved = unserved.filter((a) => !served.has(a));
      if (taken < count) await new Promise((r) => setTimeout(r, 20));
    }
    // Markers of the queues served are spent: the next sweep waits for its own dispatch, not for these.
    await connections[0]!.del(...markers);
    await Promise.all(pending);
    return taken;
  };

  process.on('message', (msg: ToFleet) => {
    const reply = (m: FromFleet) => process.send!(m);
    const fail = (err: unknown) => reply({ kind: 'error', message: (err as Error).message });
    if (msg.kind === 'grow') void grow(msg.size).then(() => reply({ kind: 'grown' }), fail);
    else if (msg.kind === 'serve') void serve(msg.count).then((taken) => reply({ kind: 'served', taken }), fail);
    else
      void (async () => {
        await Promise.all(agents.map((a) => a.worker.close()));
        await Promise.all([...connections, waiter].map((c) => c.quit()));
        process.exit(0);
      })();
  });
}
