/**
 * The incident benchmark (`npm run bench:incidents [-- name…]`): reproduces each incident on this machine for real,
 * asks the service about it the way a person would (a symptom and a target, no playbook), and scores the summary
 * with the rubric (rubric.ts). Needs root, bpftrace, gcc, iproute2 and util-linux; it changes kernel state (sysctls,
 * mounts, cgroups, network namespaces, a loop device) and restores it after each incident, even when one fails.
 * Run it alone on the host: `flock /tmp/th-host.lock npm run bench:incidents` where other tests share the machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Investigation } from '../../src/core/investigation.ts';
import { buildPrograms } from '../../test/helpers/incidents/programs.ts';
import { Teardown } from '../../test/helpers/incidents/teardown.ts';
import { INCIDENTS } from './catalogue.ts';
import type { Incident } from './incident.ts';
import { BenchReport, type IncidentResult } from './result.ts';
import { RUBRIC } from './rubric.ts';
import { score } from './score.ts';
import { BENCH_NODE, startBenchStack, type BenchStack } from './stack.ts';
import { markdown, percentile, verdict } from './table.ts';
import { describeTimeline, timelineOf } from './timeline.ts';

const WAIT_MS = Number(process.env.BENCH_INCIDENT_TIMEOUT_MS ?? 240_000);
const OUT_DIR = join(process.cwd(), '.tracehound', 'bench');
const CPU_SOURCE = 'cpu.stat usage_usec of the agent\'s own cgroup: the agent and every capture process it started, exited ones included';

if (process.getuid?.() !== 0) {
  console.error('bench:incidents needs root: it reproduces incidents in the kernel and runs bpftrace');
  process.exit(1);
}
const only = process.argv.slice(2);
const unknown = only.filter((n) => !INCIDENTS.some((i) => i.name === n));
if (unknown.length > 0) {
  console.error(`unknown incident(s): ${unknown.join(', ')}; known: ${INCIDENTS.map((i) => i.name).join(', ')}`);
  process.exit(2);
}
const incidents = only.length > 0 ? INCIDENTS.filter((i) => only.includes(i.name)) : INCIDENTS;
// A run of some incidents only does not replace the full run's figures.
const OUT_NAME = only.length > 0 ? 'incidents-subset' : 'incidents';

let current: Teardown | undefined;
let stack: BenchStack | undefined;
const programs = buildPrograms();
// A run stopped half way still restores the incident in flight and stops what it started.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void (async () => {
      const errors = (await current?.run()) ?? [];
      for (const e of errors) console.error(`could not undo: ${e}`);
      await stack?.stop().catch(() => undefined);
      programs.remove();
      process.exit(130);
    })();
  });
}

/**
 * Follows a triage that chained into a specific playbook: the chained investigation holds the answer. `seenAt`
 * (performance.now()) is when the answer was first seen: looking for a chained record that does not come (the chain
 * was refused) is the benchmark's own wait, not the person's, who already has the summary.
 */
async function finalOf(first: Investigation, firstSeenAt: number): Promise<{ inv: Investigation; playbooks: string[]; all: Investigation[]; seenAt: number }> {
  let inv = first;
  let seenAt = firstSeenAt;
  const playbooks = [inv.playbook];
  const all = [first];
  for (let hop = 0; hop < 2; hop++) {
    if (!inv.next && inv.summary?.nextPlaybook?.chain) {
      // The chained record is written as the first one ends: give it a moment to appear.
      for (let i = 0; i < 50 && !inv.next; i++, await sleep(100)) inv = (await stack!.get(`/v1/investigations/${inv.id}`)).json as unknown as Investigation;
    }
    if (!inv.next) break;
    all[all.length - 1] = inv; // as it ended, with its `next`
    inv = await stack!.waitFor(inv.next.id, WAIT_MS);
    seenAt = performance.now();
    playbooks.push(inv.playbook);
    all.push(inv);
  }
  return { inv, playbooks, all, seenAt };
}

type Outcome = Omit<IncidentResult, 'teardownErrors'>;

/** Sets the incident up, checks it is happening, asks about it and scores the answer. */
async function attempt(incident: Incident, t: Teardown): Promise<Outcome> {
  const base = { incident: incident.name, symptom: incident.symptom, target: { cgroup: '' }, investigationId: null, playbook: null, status: null, headline: null, seconds: null, agentCpuSeconds: null };
  const broken = (why: string): Outcome => ({ ...base, pass: false, failure: 'reproducer', failed: [`reproducer broken: ${why}`] });
  let running;
  try {
    running = await incident.start(t, programs);
    base.target = running.target;
    const why = await running.check();
    if (why) return broken(why);
  } catch (err) {
    return broken(err instanceof Error ? err.message : String(err));
  }
  const culprit = running.culprit();
  const cpu0 = stack!.agentCpuSeconds();
  const t0 = performance.now();
  const res = await stack!.post('/v1/investigations', { symptom: incident.symptom, target: running.target });
  if (res.status !== 202) {
    const detail = [res.json.title, res.json.detail, res.json.errors ? JSON.stringify(res.json.errors) : ''].filter(Boolean).join(': ');
    return { ...base, pass: false, failure: 'router', failed: [`refused (${res.status}): ${detail}`] };
  }
  const first = await stack!.waitFor(res.json.id as string, WAIT_MS);
  const { inv, playbooks, all, seenAt } = await finalOf(first, performance.now());
  const seconds = (seenAt - t0) / 1000;
  const agentCpuSeconds = stack!.agentCpuSeconds() - cpu0;
  const { failed, routerFailed } = score(RUBRIC[incident.name], culprit, playbooks, inv);
  return {
    ...base,
    pass: failed.length === 0,
    failure: failed.length === 0 ? null : routerFailed ? 'router' : inv.status !== 'succeeded' ? 'investigation' : 'analysis',
    failed,
    investigationId: first.id,
    playbook: playbooks.join(' → '),
    ...(first.routing ? { routing: first.routing } : {}),
    status: inv.status,
    headline: inv.summary?.headline ?? inv.reason ?? null,
    seconds,
    agentCpuSeconds,
    timelines: all.map(timelineOf),
  };
}

/** One incident, its kernel changes undone whatever happened. */
async function runIncident(incident: Incident): Promise<IncidentResult> {
  const t = (current = new Teardown());
  let outcome: Outcome;
  try {
    outcome = await attempt(incident, t);
  } catch (err) {
    outcome = {
      incident: incident.name, symptom: incident.symptom, target: { cgroup: '' }, pass: false, failure: 'investigation',
      failed: [`bench error: ${err instanceof Error ? err.message : String(err)}`], investigationId: null, playbook: null, status: null, headline: null,
      seconds: null, agentCpuSeconds: null,
    };
  }
  // `current` stays set until the undo is done: a signal meanwhile runs what is left of it (run() pops each action once).
  const teardownErrors = await t.run();
  current = undefined;
  for (const e of teardownErrors) console.error(`${incident.name}: could not undo: ${e}`);
  return { ...outcome, teardownErrors };
}

const startedAt = new Date().toISOString();
const results: IncidentResult[] = [];
try {
  stack = await startBenchStack();
  for (const incident of incidents) {
    process.stderr.write(`${incident.name}: `);
    const r = await runIncident(incident);
    results.push(r);
    process.stderr.write(`${verdict(r)}${r.seconds === null ? '' : ` (${r.seconds.toFixed(1)} s)`}\n`);
    for (const t of r.timelines ?? []) process.stderr.write(`  ${describeTimeline(t)}\n`);
    await sleep(1000); // lets the last capture's processes go before the next incident is measured
  }
} finally {
  await stack?.stop();
  programs.remove();
}

const reached = results.flatMap((r) => (r.seconds === null ? [] : [r.seconds]));
const cpu = results.flatMap((r) => (r.agentCpuSeconds === null ? [] : [r.agentCpuSeconds]));
const passed = results.filter((r) => r.pass).length;
const report = BenchReport.parse({
  schemaVersion: 1,
  startedAt,
  host: { kernel: release(), cpus: cpus().length, node: BENCH_NODE },
  results,
  passed,
  total: results.length,
  passRate: results.length === 0 ? 0 : passed / results.length,
  p50Seconds: percentile(reached, 50),
  p95Seconds: percentile(reached, 95),
  meanAgentCpuSeconds: cpu.length === 0 ? null : cpu.reduce((a, b) => a + b, 0) / cpu.length,
  cpuSource: CPU_SOURCE,
});
mkdirSync(OUT_DIR, { recursive: true });
writeFileSync(join(OUT_DIR, `${OUT_NAME}.json`), `${JSON.stringify(report, null, 2)}\n`);
const table = markdown(report);
writeFileSync(join(OUT_DIR, `${OUT_NAME}.md`), `${table}\n`);
console.log(table);
console.log(`\nwritten: ${join(OUT_DIR, `${OUT_NAME}.json`)}, ${join(OUT_DIR, `${OUT_NAME}.md`)}`);
if (results.some((r) => r.teardownErrors.length > 0)) {
  console.error('some kernel state could not be restored: see teardownErrors in incidents.json');
  process.exitCode = 1;
}
