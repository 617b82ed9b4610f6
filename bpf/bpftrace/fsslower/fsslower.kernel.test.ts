/**
 * fsslower against real slow file operations: fixtures/fifo-load.py makes a FIFO's open, read and write block for
 * a known delay, in a test cgroup, while the same workload runs outside it. Each variant the kernel offers runs:
 * the tracepoint one everywhere (also on the development host), the kprobe one where kprobes exist.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../../../test/helpers/bpf.ts';
import { runBpftraceDuring } from '../../../test/helpers/bpftrace-during.ts';
import { createTestCgroup, type TestCgroup } from '../../../test/helpers/kernel.ts';
import { kernelSuite } from '../../../test/helpers/kernel-features.ts';
import { fsslower } from './manifest.ts';
import { FsslowerResult } from './result.ts';

const LOAD = fileURLToPath(new URL('./fixtures/fifo-load.py', import.meta.url));
const DELAY_MS = 200;
const THRESHOLD_MS = 100;

async function capture(variant: string, scope: { cgroupIds: number[]; pid: number }) {
  const params = fsslower.params.parse({ thresholdMs: THRESHOLD_MS, maxOps: 100 });
  const program = fsslower.variants.find((v) => v.name === variant)!.programFile;
  const run = await runBpftraceDuring(program, [...fsslower.args(params, scope)], { BPFTRACE_MAP_KEYS_MAX: '65536', ...fsslower.env }, async () => {
      const from = Date.now();
      await new Promise((r) => setTimeout(r, 3_000));
      return { from, to: Date.now() };
    });
    return FsslowerResult.parse(fsslower.parse(run.stdout, params, { arch: process.arch, cgroupPathOf: () => null }).result);
}

/** Kills a process and, when it leads a process group (spawned detached), everything in the group. */
function killGroup(p: ChildProcess): void {
  try {
    process.kill(-p.pid!, 'SIGKILL');
  } catch {
    p.kill('SIGKILL'); // not a group leader (inside the cgroup, whose removal kills the rest)
  }
}

function suite(variant: 'kprobe' | 'tracepoint') {
  const features = kernelSuite(`fsslower ${variant} variant on a FIFO`, variant === 'kprobe' ? ['kprobe'] : []);
  describe.skipIf(skipBpf || features.skip)(bpfSuiteName(features.name), () => {
    let dir: string;
    let cg: TestCgroup | undefined;
    const procs: ChildProcess[] = [];

    beforeAll(() => {
      assertBpf();
      features.assert();
      dir = mkdtempSync(join(tmpdir(), 'th-fsslower-'));
      mkdirSync(join(dir, 'in'));
      mkdirSync(join(dir, 'out'));
      cg = createTestCgroup('fsslower');
    });

    afterAll(() => {
      for (const p of procs) killGroup(p);
      cg?.remove();
      rmSync(dir, { recursive: true, force: true });
    });

    it(`reports the cgroup's blocked open, read and write (${DELAY_MS} ms) over a ${THRESHOLD_MS} ms threshold, and nothing of the same load outside`, async () => {
      const inside = cg!.spawn('python3', [LOAD, join(dir, 'in'), String(DELAY_MS), '0']);
      // Its own process group, killed whole: the load forks a writer each round, which killing the reader alone would
      // leave blocked on the FIFO for good (the cgroup's are killed with it).
      const outside = spawn('python3', [LOAD, join(dir, 'out'), String(DELAY_MS), '0'], { stdio: 'ignore', detached: true });
      procs.push(inside, outside);
      const result = await capture(variant, { cgroupIds: [cg!.id], pid: 0 });
      killGroup(inside);
      killGroup(outside);

      const reader = inside.pid!;
      const mine = result.ops.filter((o) => o.comm === 'python3');
      const of = (op: string) => mine.filter((o) => o.op === op);
      // Every slow call is at least the threshold, and the blocked ones at least the delay (minus timer slack).
      for (const o of result.ops) expect(o.latencyUs).toBeGreaterThanOrEqual(THRESHOLD_MS * 1000);
      for (const o of mine) {
        expect(o.latencyUs).toBeGreaterThanOrEqual(DELAY_MS * 1000 * 0.9);
        expect(o.latencyUs).toBeLessThan(DELAY_MS * 1000 * 20);
        expect(o.error).toBeNull();
      }
      expect(of('open').length).toBeGreaterThanOrEqual(1);
      expect(of('read').length).toBeGreaterThanOrEqual(1);
      expect(of('write').length).toBeGreaterThanOrEqual(1);
      for (const o of [...of('open'), ...of('read')]) expect(o.pid).toBe(reader);
      expect(of('read').every((o) => o.bytes === 100)).toBe(true);
      // The writer is a child of the reader, forked each round: another pid, the same cgroup.
      expect(of('write').every((o) => o.pid !== reader && o.bytes === 69632)).toBe(true);
      if (variant === 'kprobe') {
        // The VFS variant names the file from its dentry and has no descriptor.
        expect(mine.every((o) => o.file === 'th-fifo' && o.fd === null)).toBe(true);
      } else {
        // The syscall variant: the path as passed for opens, the descriptor for the rest.
        expect(of('open').every((o) => o.file === join(dir, 'in', 'th-fifo') && o.fd !== null && o.fd >= 3)).toBe(true);
        expect([...of('read'), ...of('write')].every((o) => o.file === null && o.fd !== null && o.fd >= 3)).toBe(true);
      }
      expect(result.byProcess.find((g) => g.pid === reader && g.op === 'open')?.count).toBe(of('open').length);
      expect(result.slowOps).toBeGreaterThanOrEqual(mine.length);
      expect(result.timedOps.open).toBeGreaterThanOrEqual(of('open').length);
      // The fast fsync was timed but is not slow.
      expect(result.timedOps.fsync).toBeGreaterThanOrEqual(1);
      expect(of('fsync')).toEqual([]);
      // The same load outside the cgroup: its reader is another process with its own FIFO.
      expect(result.ops.some((o) => o.pid === outside.pid)).toBe(false);
      expect(result.ops.some((o) => o.file?.includes('/out/') === true)).toBe(false);
    });
  });
}

suite('kprobe');
suite('tracepoint');
