/**
 * cachestat against a real page cache workload on ext4 (mkfs.ext4 on a loop device; tmpfs pages are shmem, which
 * filemap_add_folio does not see): each round a child writes a 16 MiB file and fsyncs it, drops it from the cache,
 * another child reads it (cold: misses) and a third reads it again (warm: hits). The workload logs each phase's pid
 * and times, and the test checks the phases that ran wholly inside the capture. kprobes only: skipped, saying why,
 * on kernels without them (the development host).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../../../test/helpers/bpf.ts';
import { createExt4, type Ext4Disk } from '../../../test/helpers/block-devices.ts';
import { runBpftraceDuring } from '../../../test/helpers/bpftrace-during.ts';
import { createTestCgroup, type TestCgroup } from '../../../test/helpers/kernel.ts';
import { kernelSuite } from '../../../test/helpers/kernel-features.ts';
import { cachestat } from './manifest.ts';
import { CachestatResult } from './result.ts';

const PAGES = 4096; // 16 MiB in 4 KiB pages

/** argv: directory, log file. Phases run in forked children so that each has its own pid in the result. */
const WORKLOAD = fileURLToPath(new URL('./fixtures/cache-load.py', import.meta.url));

const features = kernelSuite('cachestat on ext4', ['kprobe']);

describe.skipIf(skipBpf || features.skip)(bpfSuiteName(features.name), () => {
  let disk: Ext4Disk | undefined;
  let cg: TestCgroup | undefined;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    assertBpf();
    features.assert();
    disk = await createExt4('cachestat', { sizeMiB: 64 });
    cg = createTestCgroup('cachestat');
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    cg?.remove();
    await disk?.cleanup();
  });

  it('counts the writer’s dirtied pages, the cold reader’s misses and the warm reader’s hits, per process', async () => {
    // Beside the filesystem under test, not on it: the log's own page cache traffic is not the workload's.
    const log = join(disk!.dir, 'phases.log');
    const params = cachestat.params.parse({ maxProcesses: 1000 });
    const durationMs = 6_000;
    // As record.sh does: the workload starts once the probes are attached and is killed before bpftrace stops.
    const run = await runBpftraceDuring(cachestat.variants[0]!.programFile, [...cachestat.args(params, { cgroupIds: [cg!.id], pid: 0 })], cachestat.env, async () => {
      const from = Date.now();
      const load = cg!.spawn('python3', [WORKLOAD, disk!.mountPoint, log]);
      procs.push(load);
      await new Promise((r) => setTimeout(r, durationMs));
      load.kill('SIGKILL');
      return { from, to: Date.now(), pid: load.pid! };
    });
    const result = CachestatResult.parse(cachestat.parse(run.stdout, params, { arch: process.arch, cgroupPathOf: () => null }).result);

    // Phases that started after the probes attached and ended before bpftrace was stopped were counted whole.
    const from = run.workload.from / 1000;
    const to = run.workload.to / 1000;
    const phases = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([name, pid, s, e]) => ({ name, pid: Number(pid), start: Number(s), end: Number(e) }));
    const whole = phases.filter((p) => p.start > from && p.end < to);
    const proc = (pid: number) => result.processes.find((p) => p.pid === pid);
    for (const name of ['write', 'cold', 'warm']) expect(whole.map((p) => p.name), JSON.stringify(phases)).toContain(name);
    for (const p of whole) {
      const counts = proc(p.pid);
      // On failure, say what was counted for whom: the phases and every process's raw counters.
      expect(counts, `${p.name} ${p.pid}; phases ${JSON.stringify(whole)}; counted ${JSON.stringify(result.processes.map((q) => [q.pid, q.comm, q.raw]))}; stdout ${run.stdout.slice(0, 1500)}; stderr ${run.stderr.slice(0, 1500)}`).toBeDefined();
      expect(counts!.comm).toBe('python3');
      if (p.name === 'write') {
        expect(counts!.dirties).toBeGreaterThanOrEqual(PAGES * 0.9);
        expect(counts!.dirties).toBeLessThanOrEqual(PAGES * 1.1);
      } else if (p.name === 'cold') {
        expect(counts!.misses).toBeGreaterThanOrEqual(PAGES * 0.9);
        expect(counts!.hitRatio!).toBeLessThan(0.5);
      } else {
        expect(counts!.hits).toBeGreaterThanOrEqual(PAGES * 0.9);
        expect(counts!.misses).toBeLessThanOrEqual(PAGES * 0.05);
        expect(counts!.hitRatio!).toBeGreaterThan(0.95);
      }
    }
    // Totals add up over seconds, and only the cgroup's processes (the workload's children and itself) are there.
    const sum = (k: 'hits' | 'misses' | 'dirties') => result.intervals.reduce((s, i) => s + i.raw[k === 'hits' ? 'accessed' : k === 'misses' ? 'added' : 'dirtied'], 0);
    expect(sum('misses')).toBe(result.total.raw.added);
    expect(sum('hits')).toBe(result.total.raw.accessed);
    expect(sum('dirties')).toBe(result.total.raw.dirtied);
    expect(result.intervals.length).toBeGreaterThanOrEqual(durationMs / 1000);
    // The phase in flight when the workload was killed never logged its pid: it is the newest one.
    const known = new Set([run.workload.pid, ...phases.map((p) => p.pid)]);
    const lastLogged = Math.max(...phases.map((p) => p.pid));
    expect(result.processes.filter((p) => !known.has(p.pid) && !(p.pid > lastLogged && p.comm === 'python3'))).toEqual([]);
    expect(result.processes.filter((p) => p.pid > lastLogged).length).toBeLessThanOrEqual(1);
  });
});
