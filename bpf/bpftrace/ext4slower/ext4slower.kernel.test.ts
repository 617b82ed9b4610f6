/**
 * ext4slower on a real ext4 filesystem made with mkfs.ext4 on a loop device, mounted through a dm-delay target so
 * that what reaches the disk is slow: fsync (journal commit) and reads of data dropped from the cache take at least
 * the delay. kprobes only: skipped, saying why, on kernels without them (the development host).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../../../test/helpers/bpf.ts';
import { createExt4, type Ext4Disk } from '../../../test/helpers/block-devices.ts';
import { runBpftraceDuring } from '../../../test/helpers/bpftrace-during.ts';
import { createTestCgroup, type TestCgroup } from '../../../test/helpers/kernel.ts';
import { kernelSuite } from '../../../test/helpers/kernel-features.ts';
import { ext4slower } from './manifest.ts';
import { Ext4slowerResult } from './result.ts';

const DELAY_MS = 50;
const THRESHOLD_MS = 30;

/** Each round: write 1 MiB, fsync it (journal commit through the delay), drop it from the cache, read it back. */
const WORKLOAD = fileURLToPath(new URL('./fixtures/ext4-load.py', import.meta.url));

const features = kernelSuite('ext4slower on ext4 over dm-delay', ['kprobe']);

describe.skipIf(skipBpf || features.skip)(bpfSuiteName(features.name), () => {
  let disk: Ext4Disk | undefined;
  let cg: TestCgroup | undefined;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    assertBpf();
    features.assert();
    disk = await createExt4('ext4slower', { sizeMiB: 64, delayMs: DELAY_MS });
    cg = createTestCgroup('ext4slower');
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    cg?.remove();
    await disk?.cleanup();
  });

  it(`reports the cgroup's fsyncs and cold reads at no less than the ${DELAY_MS} ms delay, naming the file`, async () => {
    const inside = cg!.spawn('python3', [WORKLOAD, disk!.mountPoint]);
    // The same work outside the cgroup, on another file of the same filesystem: must not appear.
    mkdirSync(join(disk!.mountPoint, 'out'));
    const outside = spawn('python3', [WORKLOAD, join(disk!.mountPoint, 'out')], { stdio: 'ignore' });
    procs.push(inside, outside);
    const params = ext4slower.params.parse({ thresholdMs: THRESHOLD_MS, maxOps: 200 });
    const run = await runBpftraceDuring(ext4slower.variants[0]!.programFile, [...ext4slower.args(params, { cgroupIds: [cg!.id], pid: 0 })], { BPFTRACE_MAP_KEYS_MAX: '65536', ...ext4slower.env }, async () => {
      const from = Date.now();
      await new Promise((r) => setTimeout(r, 4_000));
      return { from, to: Date.now() };
    });
    inside.kill('SIGKILL');
    outside.kill('SIGKILL');
        const result = Ext4slowerResult.parse(ext4slower.parse(run.stdout, params, { arch: process.arch, cgroupPathOf: () => null }).result);

    expect(result.ops.length).toBeGreaterThan(0);
    expect(result.ops.every((o) => o.pid === inside.pid && o.comm === 'python3' && o.fd === null)).toBe(true);
    const fsyncs = result.ops.filter((o) => o.op === 'fsync');
    const reads = result.ops.filter((o) => o.op === 'read');
    expect(fsyncs.length).toBeGreaterThanOrEqual(1);
    expect(reads.length).toBeGreaterThanOrEqual(1);
    for (const o of [...fsyncs, ...reads]) {
      expect(o.file).toBe('th-data');
      // dm-delay counts in jiffies: up to one tick (4 ms at HZ 250) short of the delay.
      expect(o.latencyUs).toBeGreaterThanOrEqual(DELAY_MS * 1000 - 4_000);
      expect(o.latencyUs).toBeLessThan(DELAY_MS * 1000 * 100);
      expect(o.error).toBeNull();
    }
    // A cold read of the whole 1 MiB in one call.
    expect(reads.some((o) => o.bytes === 1048576)).toBe(true);
    expect(result.byProcess.find((g) => g.op === 'fsync')).toMatchObject({ pid: inside.pid, comm: 'python3' });
    expect(result.timedOps.fsync).toBeGreaterThanOrEqual(fsyncs.length);
    expect(result.timedOps.write).toBeGreaterThanOrEqual(1);
  });
});
