/**
 * What syscount costs the traced node, printed (not asserted): the time of `dd bs=1` copying 1,000,000 bytes
 * (1 M read(2) + 1 M write(2) calls) untraced, under the failures-only program syscount had before it kept descriptors (the reference, measured in the
 * same run), and under today's program — for a process inside the capture's cgroup scope and one outside it (every
 * other process on the node pays for the probes too). Best of BENCH_SYSCOUNT_RUNS (5) each.
 * Needs root and bpftrace. Run with `npx tsx bench/syscount-overhead.ts`.
 */
import { spawnSync } from 'node:child_process';
import { underBpftrace } from './under-bpftrace.ts';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_CGROUPS } from '../bpf/bpftrace-output.ts';

const RUNS = Number(process.env.BENCH_SYSCOUNT_RUNS ?? 5);
const CALLS = 1_000_000;
const CGROUP_ROOT = process.env.CGROUP_ROOT ?? '/sys/fs/cgroup/unified';
const PROGRAM = fileURLToPath(new URL('../bpf/bpftrace/syscount/program.bt', import.meta.url));
const ENOSPC = 28;

/** syscount before #11: the one exit probe counting failures, nothing kept per descriptor. */
const REFERENCE = `
tracepoint:raw_syscalls:sys_exit
/args->ret < 0 && ($1 == 0 || args->ret == -$1) && ($3 == 0 || pid == $3) &&
 ($2 == 0 || cgroup == $2 || cgroup == $4 || cgroup == $5 || cgroup == $6 || cgroup == $7 || cgroup == $8 ||
  cgroup == $9 || cgroup == $10)/
{
  @failures[args->id, -args->ret, pid, cgroup, comm] = count();
}
END { @complete = 1; }
`;

const work = mkdtempSync(join(tmpdir(), 'th-bench-syscount-'));
const reference = join(work, 'reference.bt');
writeFileSync(reference, REFERENCE);
const cgroupDir = join(CGROUP_ROOT, `tracehound-bench-syscount-${process.pid}`);
mkdirSync(cgroupDir);
const cgroupId = statSync(cgroupDir).ino;

/** Seconds for CALLS one-byte writes to /dev/null, inside the scope's cgroup or not. */
function writes(inScope: boolean): number {
  const dd = `dd if=/dev/zero of=/dev/null bs=1 count=${CALLS} status=none`;
  const script = inScope ? `echo $$ > "${cgroupDir}/cgroup.procs" && exec ${dd}` : `exec ${dd}`;
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', script], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`dd failed: ${r.status ?? r.signal}`);
  return (performance.now() - t0) / 1000;
}

/** Runs `measure` while the program is attached. */
const underProgram = <T>(program: string, measure: () => T): Promise<T> =>
  underBpftrace([program, String(ENOSPC), String(cgroupId), '0', ...Array.from({ length: MAX_CGROUPS - 1 }, () => '0')], measure, { stopMs: 10_000 });

const best = (xs: number[]) => Math.min(...xs);
/** dd bs=1 makes two syscalls per byte: a read and a write. */
const SYSCALLS = 2 * CALLS;
const perCall = (s: number) => `${((s * 1e6) / SYSCALLS).toFixed(2)} µs`;

try {
  const rows: [string, number, number][] = [];
  const measure = async (label: string, program: string | null) => {
    const inside: number[] = [];
    const outside: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const run = () => [writes(true), writes(false)] as const;
      const [a, b] = program ? await underProgram(program, run) : run();
      inside.push(a);
      outside.push(b);
    }
    rows.push([label, best(inside), best(outside)]);
  };
  await measure('untraced', null);
  await measure('reference: failures only (before #11)', reference);
  await measure('syscount today (+ descriptors, close/dup)', PROGRAM);

  const base = rows[0]!;
  console.log(`dd bs=1 count=${CALLS.toLocaleString('en-US')}: ${SYSCALLS.toLocaleString('en-US')} syscalls, best of ${RUNS}:`);
  for (const [label, inside, outside] of rows) {
    console.log(
      `  ${label.padEnd(44)} in scope ${inside.toFixed(2)} s (+${perCall(inside - base[1])} per syscall)` +
        `   out of scope ${outside.toFixed(2)} s (+${perCall(outside - base[2])} per syscall)`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  rmdirSync(cgroupDir);
}
