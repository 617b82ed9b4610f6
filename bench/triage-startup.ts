/**
 * What triage's kernel captures cost in wall time, printed (not asserted): the joint program (bpf/bpftrace/triage,
 * one bpftrace) against the reference measured in the same run, the eight tools' own programs run two at a time as
 * the agent runs them by default (AGENT_CONCURRENCY 2). For each: the time from spawn to attached probes, and to the
 * end of its output after a window of BENCH_TRIAGE_WINDOW_MS (5000) counted from the attach, as the agent counts it.
 * Node-wide scope, the manifests' own arguments and environment. Needs root and bpftrace:
 * `flock /tmp/th-host.lock npx tsx bench/triage-startup.ts`.
 */
import { spawn } from 'node:child_process';
import { tools } from '../bpf/index.ts';
import type { BpftraceTool } from '../bpf/tool.ts';

const WINDOW_MS = Number(process.env.BENCH_TRIAGE_WINDOW_MS ?? 5000);
const CONCURRENCY = 2;
const PARTS = ['syscount', 'runqlat', 'biolatency', 'tcpretrans', 'tcpconnect', 'oomkill', 'execsnoop', 'profile'];
const BPFTRACE = process.env.BPFTRACE ?? 'bpftrace';

interface Run { tool: string; attachMs: number; endMs: number }

/** One capture as the agent runs it: spawn, wait for the attach, a window, SIGINT, wait for the output to end. */
function capture(name: string): Promise<Run> {
  const tool = tools[name] as BpftraceTool;
  const args = tool.args(tool.params.parse({}), { cgroupIds: [], pid: 0 });
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(BPFTRACE, ['-f', 'json', tool.programFile, ...args], { env: { ...process.env, ...tool.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let attachMs = -1;
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      if (attachMs < 0 && d.toString().includes('attached_probes')) {
        attachMs = performance.now() - t0;
        setTimeout(() => child.kill('SIGINT'), WINDOW_MS);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (attachMs < 0) reject(new Error(`${name}: never attached (exit ${code}): ${err.slice(0, 500)}`));
      else resolve({ tool: name, attachMs, endMs: performance.now() - t0 });
    });
  });
}

/** The eight in rounds of CONCURRENCY, as the agent's queue runs them. */
async function separate(): Promise<{ totalMs: number; runs: Run[] }> {
  const t0 = performance.now();
  const queue = [...PARTS];
  const runs: Run[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) runs.push(await capture(name));
    }),
  );
  return { totalMs: performance.now() - t0, runs };
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const reference = await separate();
const joint = await capture('triage');
console.log(`triage kernel captures, node-wide, ${s(WINDOW_MS)} window each (host under whatever load it has):`);
console.log(`  reference: 8 programs, ${CONCURRENCY} at a time: ${s(reference.totalMs)} in all`);
for (const r of reference.runs) console.log(`    ${r.tool.padEnd(11)} attached after ${s(r.attachMs)}, done after ${s(r.endMs)}`);
console.log(`  joint program (bpf/bpftrace/triage): attached after ${s(joint.attachMs)}, done after ${s(joint.endMs)}`);
console.log(`  saved: ${s(reference.totalMs - joint.endMs)} (${((1 - joint.endMs / reference.totalMs) * 100).toFixed(0)}%)`);
