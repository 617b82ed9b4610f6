import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../../../test/helpers/bpf.ts';
import { runBpftraceDuring, runIn } from '../../../test/helpers/bpftrace-during.ts';
import { kernelSuite } from '../../../test/helpers/kernel-features.ts';
import { createTestCgroup, type TestCgroup } from '../../../test/helpers/kernel.ts';
import { opensnoop, type OpensnoopParams } from './manifest.ts';
import { OpensnoopResult, type OpensnoopRow } from './result.ts';

const WORKLOAD = fileURLToPath(new URL('./fixtures/open-errors.py', import.meta.url));
/** Rounds of the workload: each process fails its open once a round. */
const ROUNDS = 20;

/**
 * Each variant of opensnoop, run for real with the tool's env and args for exactly as long as open-errors.py takes to
 * do ROUNDS rounds in a test cgroup — ENOENT, EACCES (uid 65534) and EMFILE (RLIMIT_NOFILE) — while the same
 * workload runs outside the cgroup on another directory. The tracepoint variant runs on any kernel with syscall
 * tracepoints (this host too); the fentry variant where the kernel has fentry (the stock kernels).
 */
const suites = [
  { variant: 'tracepoint', suite: { name: bpfSuiteName('opensnoop tracepoint variant on a real workload'), skip: skipBpf, assert: () => undefined } },
  { variant: 'fentry', suite: kernelSuite(bpfSuiteName('opensnoop fentry variant on a real workload'), ['fentry']) },
] as const;

for (const { variant, suite } of suites) {
  describe.skipIf(suite.skip)(suite.name, () => {
    let cg: TestCgroup | undefined;
    let dir = '';
    let outDir = '';
    const program = opensnoop.variants.find((v) => v.name === variant)?.programFile ?? '';

    const capture = async (params: Partial<OpensnoopParams>) => {
      const p = opensnoop.params.parse(params);
      const args = opensnoop.args(p, { cgroupIds: [cg?.id ?? 0], pid: 0 });
      const run = await runBpftraceDuring(program, args, opensnoop.env, () =>
        Promise.all([runIn(cg ?? null, 'python3', [WORKLOAD, dir, String(ROUNDS)]), runIn(null, 'python3', [WORKLOAD, outDir, String(ROUNDS)])]),
      );
      const ctx = { arch: process.arch, cgroupPathOf: (id: number) => (id === cg?.id ? cg.path : null) };
      return OpensnoopResult.parse(opensnoop.parse(run.stdout, p, ctx).result);
    };

    beforeAll(() => {
      assertBpf();
      suite.assert();
      dir = mkdtempSync(join(tmpdir(), 'th-os-in-'));
      outDir = mkdtempSync(join(tmpdir(), 'th-os-out-'));
      cg = createTestCgroup('opensnoop');
    });

    afterAll(() => {
      try {
        cg?.remove();
      } finally {
        for (const d of [dir, outDir]) if (d) rmSync(d, { recursive: true, force: true });
      }
    });

    it('counts the failed opens of the cgroup by errno, process and path, exactly, and nothing from outside it', async () => {
      const result = await capture({});
      const named = (comm: string, errno: string): OpensnoopRow => {
        const rows = result.rows.filter((r) => r.comm === comm && r.errno === errno);
        expect(rows, JSON.stringify(result.rows)).toHaveLength(1);
        return rows[0] as OpensnoopRow;
      };
      // Python's own start-up may fail opens too (as comm python3); after naming itself each process fails only these.
      const enoent = named('open,err', 'ENOENT');
      expect(enoent).toMatchObject({ count: ROUNDS, cgroupId: cg?.id, cgroup: cg?.path });
      const enoentPaths = result.rows.filter((r) => r.pid === enoent.pid && r.errno === 'ENOENT').flatMap((r) => r.paths);
      expect(enoentPaths).toContainEqual({ path: `${dir}/missing,file`, count: ROUNDS });
      expect(named('open-eacces', 'EACCES')).toMatchObject({ count: ROUNDS, cgroupId: cg?.id, paths: [{ path: `${dir}/secret`, count: ROUNDS }], distinctPaths: 1 });
      // One EMFILE ends the loop that uses up the descriptors on /dev/null, then one a round.
      expect(named('open-emfile', 'EMFILE')).toMatchObject({
        count: ROUNDS + 1, cgroupId: cg?.id, paths: [{ path: `${dir}/present`, count: ROUNDS }, { path: '/dev/null', count: 1 }], distinctPaths: 2,
      });
      expect(new Set(result.rows.filter((r) => r.comm.startsWith('open')).map((r) => r.pid)).size).toBe(3);
      expect(result.rows.every((r) => r.cgroupId === cg?.id)).toBe(true);
      expect(result.totalSuccesses).toBe(0);
      expect(JSON.stringify(result)).not.toContain(outDir);
    });

    it('filters on one errno in the kernel and counts successes when asked', async () => {
      const result = await capture({ errno: 'ENOENT', successes: true, pathsPerRow: 64 });
      expect(result.byErrno.map((e) => e.errno)).toEqual(['ENOENT']);
      expect(result.rows.filter((r) => r.errno !== null && r.errno !== 'ENOENT')).toEqual([]);
      const main = result.rows.find((r) => r.comm === 'open,err' && r.errno === 'ENOENT');
      expect(main?.count).toBe(ROUNDS);
      // The successful opens of the main process (under either of its comms): DIR/present once to write it, then
      // once a round.
      const ok = result.rows.filter((r) => r.pid === main?.pid && r.errno === null).flatMap((r) => r.paths);
      expect(ok).toContainEqual({ path: `${dir}/present`, count: ROUNDS + 1 });
      // The EMFILE child's successes: the descriptors it used up on /dev/null.
      const filled = result.rows.find((r) => r.comm === 'open-emfile' && r.errno === null);
      expect(filled?.paths[0]?.path).toBe('/dev/null');
      expect(filled?.count).toBeGreaterThanOrEqual(5);
      expect(JSON.stringify(result)).not.toContain(outDir);
    });
  });
}
