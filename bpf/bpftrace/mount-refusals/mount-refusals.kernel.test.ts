import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../../../test/helpers/bpf.ts';
import { runBpftraceDuring } from '../../../test/helpers/bpftrace-during.ts';
import { createTestCgroup, sleep, type TestCgroup } from '../../../test/helpers/kernel.ts';
import { kernelSuite } from '../../../test/helpers/kernel-features.ts';
import { recordingContext } from '../../../test/helpers/recordings.ts';
import { mountRefusals } from './manifest.ts';
import type { MountRefusalsResult } from './result.ts';

/**
 * Each variant for real: a private mount namespace in a test cgroup bind-mounts a directory onto itself until a
 * lowered fs.mount-max refuses it, while another namespace outside the cgroup does the same and must not be counted.
 * The kprobe variant needs kprobes (the matrix's stock kernels); the tracepoint variant runs everywhere, this host
 * included. fs.mount-max is put back after each test.
 */
const mountCount = (pid: string) => {
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};
const nsOf = (pid: number) => Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/mnt`))?.[1]);

function variantSuite(variant: 'kprobe' | 'tracepoint') {
  return () => {
    let cg: TestCgroup | undefined;
    let mountMax: string;
    let dir: string;
    const procs: { kill(sig: NodeJS.Signals): boolean }[] = [];

    beforeAll(() => {
      assertBpf();
      mountMax = readFileSync('/proc/sys/fs/mount-max', 'utf8').trim();
    });
    afterEach(async () => {
      for (const p of procs.splice(0)) p.kill('SIGKILL');
      await sleep(300);
      cg?.remove();
      writeFileSync('/proc/sys/fs/mount-max', mountMax);
      if (dir) rmSync(dir, { recursive: true, force: true });
      expect(readFileSync('/proc/sys/fs/mount-max', 'utf8').trim()).toBe(mountMax);
    });

    it(`counts the target namespace's refused mounts, and nothing of another outside the target cgroup (${variant})`, async () => {
      const program = mountRefusals.variants.find((v) => v.name === variant)!.programFile;
      const biggest = Math.max(...readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(mountCount));
      writeFileSync('/proc/sys/fs/mount-max', String(biggest + 15));
      dir = mkdtempSync(join(tmpdir(), 'th-refusals-'));
      cg = createTestCgroup('refusals');
      // Each refused mount appends a line to <at>.fails (beside, not under, the mount point): the test waits for them.
      const leak = (at: string) => ['-m', '--propagation', 'private', 'sh', '-c', `mkdir -p "${at}"; while :; do mount --bind "${at}" "${at}" 2>/dev/null || echo >> "${at}.fails"; sleep 0.1; done`];
      const fails = (at: string) => (existsSync(`${at}.fails`) ? readFileSync(`${at}.fails`, 'utf8').split('\n').length - 1 : 0);
      const run = await runBpftraceDuring(program, mountRefusals.args({}, { cgroupIds: [cg.id], pid: 0 }), mountRefusals.env, async () => {
        const mine = cg!.spawn('unshare', leak(join(dir, 'in')));
        const other = spawn('unshare', leak(join(dir, 'out')), { stdio: 'ignore' });
        procs.push(mine, other);
        // Until both have been refused a few times (each round is a new mount(8) process: slow under emulation).
        for (let i = 0; i < 600 && (fails(join(dir, 'in')) < 4 || fails(join(dir, 'out')) < 2); i++) await sleep(250);
        return { mine: nsOf(mine.pid!), other: nsOf(other.pid!) };
      });
      const result = mountRefusals.parse(run.stdout, {}, recordingContext({})).result as MountRefusalsResult;
      expect(mountRefusals.result.parse(result)).toEqual(result);
      expect(result.namespaces.map((n) => n.mntns), run.stderr).toEqual([run.workload.mine]);
      const [ns] = result.namespaces;
      expect(ns!.refused).toBeGreaterThanOrEqual(4);
      expect(ns!.allowed).toBeGreaterThanOrEqual(1);
      // mount(8) was refused; unshare's own mount(2) (making / private) was allowed, and the tracepoint sees it too.
      expect(ns!.processes.find((p) => p.comm === 'mount')).toMatchObject({ cgroupId: cg.id, refused: ns!.refused });
      expect(ns!.processes.every((p) => p.cgroupId === cg!.id && ['mount', 'unshare'].includes(p.comm))).toBe(true);
      expect(result.totalRefused).toBe(ns!.refused);
      expect(run.workload.other).not.toBe(run.workload.mine);
    });
  };
}

const k = kernelSuite('mount-refusals kprobe variant: count_mounts', ['kprobe']);
describe.skipIf(k.skip)(k.name, () => {
  beforeAll(k.assert);
  describe('on a real leak', variantSuite('kprobe'));
});

describe.skipIf(skipBpf)(bpfSuiteName('mount-refusals tracepoint variant: mount(2) returning ENOSPC'), variantSuite('tracepoint'));
