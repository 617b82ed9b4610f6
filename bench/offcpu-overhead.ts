/**
 * What the offcputime capture costs a process that context-switches all the time, printed (not asserted): two
 * processes ping-ponging one byte over two pipes (each round trip wakes each side once and blocks it, or has it
 * preempted: about one context switch per side per round trip, all through the probes), for BENCH_OFFCPU_SECONDS (2) at a time. Its rate untraced (the
 * reference, measured in the same run), under runqlat (the reference sched_switch/sched_wakeup tool already shipped),
 * and under offcputime with the agent's settings, for the ping-pong inside the capture's cgroup (every switch parks
 * and sums stacks) and outside it (every switch pays the filter only). Runs alternate; each figure is the median of
 * BENCH_OFFCPU_RUNS (5). Needs root, gcc and bpftrace. Run with `npx tsx bench/offcpu-overhead.ts`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { underBpftrace } from './under-bpftrace.ts';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { offcputime } from '../bpf/bpftrace/offcputime/manifest.ts';
import { runqlat } from '../bpf/bpftrace/runqlat/manifest.ts';
import type { BpftraceTool, KernelScope } from '../bpf/tool.ts';

const RUNS = Number(process.env.BENCH_OFFCPU_RUNS ?? 5);
const SECONDS = Number(process.env.BENCH_OFFCPU_SECONDS ?? 2);
const CGROUP_ROOT = process.env.CGROUP_ROOT ?? '/sys/fs/cgroup/unified';
/** The workload: a process switching 50k times a second. */
const TARGET_RATE = 50_000;

/** Parent and child bounce one byte for `seconds`; prints round trips, seconds and both sides' context switches. */
const PINGPONG = `
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  double seconds = atof(argv[1]);
  int a[2], b[2];
  if (pipe(a) || pipe(b)) return 1;
  pid_t child = fork();
  char c = 'x';
  if (child == 0) {
    close(a[1]);
    close(b[0]);
    while (read(a[0], &c, 1) == 1) if (write(b[1], &c, 1) != 1) break;
    return 0;
  }
  close(a[0]);
  close(b[1]);
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long trips = 0;
  for (;;) {
    if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1) return 1;
    if ((++trips & 1023) == 0) {
      clock_gettime(CLOCK_MONOTONIC, &t);
      if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds) break;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t);
  close(a[1]);
  struct rusage self, kid;
  wait4(child, 0, 0, &kid);
  getrusage(RUSAGE_SELF, &self);
  printf("%ld %.6f %ld\\n", trips, (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9, self.ru_nvcsw + self.ru_nivcsw + kid.ru_nvcsw + kid.ru_nivcsw);
  return 0;
}
`;

const work = mkdtempSync(join(tmpdir(), 'th-bench-offcpu-'));
writeFileSync(join(work, 'pingpong.c'), PINGPONG);
const exe = join(work, 'pingpong');
execFileSync('gcc', ['-O2', '-o', exe, join(work, 'pingpong.c')]);
const cgroupDir = join(CGROUP_ROOT, `tracehound-bench-offcpu-${process.pid}`);
mkdirSync(cgroupDir);
const cgroupId = statSync(cgroupDir).ino;

interface Rate {
  /** Context switches per second of both processes, voluntary and not. */
  switches: number;
  trips: number;
}

/** One ping-pong run, in the bench cgroup or not. */
function pingpong(inScope: boolean): Rate {
  const run = `${exe} ${SECONDS}`;
  const script = inScope ? `echo $$ > "${cgroupDir}/cgroup.procs" && exec ${run}` : `exec ${run}`;
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ping-pong failed: ${r.status ?? r.signal} ${r.stderr}`);
  const [trips, secs, switches] = r.stdout.trim().split(' ').map(Number);
  return { trips: trips! / secs!, switches: switches! / secs! };
}

/** Runs `measure` while the tool's program is attached, with the agent's default parameters. */
const underTool = <T>(tool: BpftraceTool, scope: KernelScope, measure: () => T): Promise<T> =>
  underBpftrace([tool.programFile, ...tool.args(tool.params.parse({}), scope)], measure, { env: tool.env, stopMs: 20_000 });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const inScope: KernelScope = { cgroupIds: [cgroupId], pid: 0 };
/** A cgroup id no task has: the program is loaded and filters every switch out. */
const elsewhere: KernelScope = { cgroupIds: [999_999_999], pid: 0 };

try {
  const cases: { label: string; run: () => Promise<Rate> }[] = [
    { label: 'untraced (reference)', run: async () => pingpong(true) },
    { label: 'runqlat, ping-pong in scope (reference tool)', run: () => underTool(runqlat, inScope, () => pingpong(true)) },
    { label: 'offcputime, ping-pong in scope', run: () => underTool(offcputime, inScope, () => pingpong(true)) },
    { label: 'offcputime, ping-pong out of scope', run: () => underTool(offcputime, elsewhere, () => pingpong(true)) },
  ];
  const got = cases.map(() => [] as Rate[]);
  // Alternated: a host whose load drifts during the run drifts every case alike.
  for (let i = 0; i < RUNS; i++) for (const [j, c] of cases.entries()) got[j]!.push(await c.run());

  const rows = cases.map((c, j) => ({ label: c.label, trips: median(got[j]!.map((r) => r.trips)), switches: median(got[j]!.map((r) => r.switches)) }));
  const base = rows[0]!;
  console.log(`ping-pong over pipes, ${SECONDS} s a run, median of ${RUNS} alternated runs:`);
  for (const r of rows) {
    const slower = (base.trips / r.trips - 1) * 100;
    // The added time per context switch: the round trip's added time over the switches a round trip makes.
    const perSwitchNs = (1 / r.trips - 1 / base.trips) * 1e9 / (base.switches / base.trips);
    const atTarget = r === base ? '' : `; at ${fmt(TARGET_RATE)} switches/s: ${((perSwitchNs * TARGET_RATE) / 1e7).toFixed(2)}% of one CPU`;
    console.log(
      `  ${r.label.padEnd(46)} ${fmt(r.trips)} round trips/s, ${fmt(r.switches)} switches/s` +
        (r === base ? '' : `  (${slower >= 0 ? '+' : ''}${slower.toFixed(1)}% time per round trip, +${Math.round(perSwitchNs)} ns per switch${atTarget})`),
    );
  }
  console.log('  (taken on a shared host: run again on a quiet one for figures to quote)');
} finally {
  rmSync(work, { recursive: true, force: true });
  rmdirSync(cgroupDir);
}
