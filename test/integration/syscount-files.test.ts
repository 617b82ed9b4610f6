import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCountMap } from '../../bpf/bpftrace-output.ts';
import { FILES_MAP } from '../../bpf/bpftrace/syscount/parser.ts';
import { newInvestigationId } from '../../src/core/ids.ts';
import { SyscountResult, type SyscountRow } from '../../bpf/bpftrace/syscount/result.ts';
import { CaptureJob, CaptureOutcome } from '../../src/queue/jobs.ts';
import { detectCapabilities } from '../../workers/node-agent/capabilities.ts';
import { executeCapture } from '../../workers/node-agent/capture.ts';
import { ArtifactSpool } from '../../workers/node-agent/spool.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { CGROUP_ROOT, createTestCgroup, mountTmpfs, sleep, type TestCgroup } from '../helpers/kernel.ts';
import { testS3 } from '../helpers/services.ts';

/** Appends to fd 3 every 50 ms, ignoring ENOSPC: a service holding its log open on a full volume. */
const WRITE_FD3 = "setInterval(() => { try { require('node:fs').writeSync(3, 'x\\n'); } catch {} }, 50)";
/** The shell opens $0/$1 as fd 3 (unlinking it after when $2 says so), then becomes node running WRITE_FD3. */
const HOLDER = 'exec 3>>"$0/$1"; if [ "$2" = unlink ]; then rm "$0/$1"; fi; exec "$3" -e "$4"';

/**
 * A real syscount capture through the agent's own code path (executeCapture: bpftrace, parse, fd resolution at the
 * end, upload) on a full 1 MiB tmpfs, scoped to a test cgroup.
 */
describe.skipIf(skipBpf)(bpfSuiteName('syscount names the file behind each failing descriptor'), () => {
  let fs: { dir: string; unmount(): void } | undefined;
  let cg: TestCgroup | undefined;
  let spoolDir: string | undefined;
  const s3 = testS3();
  const procs: ChildProcess[] = [];
  let holder: ChildProcess;
  let unlinked: ChildProcess;
  let shell: ChildProcess;
  let outsider: ChildProcess;
  let outcome: CaptureOutcome;
  let result: SyscountResult;
  let raw: string;

  const rowOf = (p: ChildProcess): SyscountRow | undefined => result.rows.find((r) => r.pid === p.pid);

  beforeAll(async () => {
    assertBpf();
    fs = mountTmpfs(1024);
    spawnSync('dd', ['if=/dev/zero', `of=${fs.dir}/ballast`, 'bs=64k'], { stdio: 'ignore' }); // fills it, then fails
    cg = createTestCgroup('sc-files');
    spoolDir = mkdtempSync(join(tmpdir(), 'th-sc-files-spool-'));
    const node = process.execPath;
    const track = (p: ChildProcess) => (procs.push(p), p);
    holder = track(cg.spawn('sh', ['-c', HOLDER, fs.dir, 'y', 'keep', node, WRITE_FD3]));
    unlinked = track(cg.spawn('sh', ['-c', HOLDER, fs.dir, 'gone', 'unlink', node, WRITE_FD3]));
    // Opens, fails, closes on every round (the shell writes through fd 1, dup2'ed onto the file and restored).
    shell = track(cg.spawn('sh', ['-c', 'while :; do echo x >> "$0/w"; sleep 0.05; done', fs.dir]));
    // The same failure outside the cgroup: the holder's failures prove this code fails too, so its absence is the filter's doing.
    outsider = track(spawn('sh', ['-c', HOLDER, fs.dir, 'y', 'keep', node, WRITE_FD3], { stdio: 'ignore' }));
    // Captures start once the node processes run (exec done), so each has failed before the window closes.
    for (const p of [holder, unlinked, outsider]) {
      for (let i = 0; i < 250 && exeOf(p.pid) !== node; i++) await sleep(20);
      expect(exeOf(p.pid)).toBe(node);
    }

    const spool = await ArtifactSpool.open({ dir: spoolDir, maxBytes: 64 * 1024 * 1024, log: pino({ level: 'silent' }) });
    const capabilities = await detectCapabilities({ tracefs: '/sys/kernel/tracing', bpftrace: 'bpftrace', cgroupRoot: CGROUP_ROOT });
    const job = CaptureJob.parse({
      investigationId: newInvestigationId(),
      stepId: 'errors',
      node: 'test-node',
      tool: 'syscount',
      params: { errno: 'ENOSPC' },
      durationMs: 2_000,
      scope: { cgroup: cg.path },
    });
    const deps = {
      store: s3.store, spool, capabilities, cgroupRoot: CGROUP_ROOT, bpftrace: 'bpftrace', mapKeysMax: 65_536,
      killGraceMs: 10_000, startupMs: 30_000, maxDurationMs: 120_000, log: pino({ level: 'silent' }),
    };
    outcome = CaptureOutcome.parse(await executeCapture(job, deps, new AbortController().signal));
    expect(outcome).toMatchObject({ status: 'succeeded', unstored: [] });
    result = SyscountResult.parse(outcome.result);
    const rawRef = outcome.artifacts.find((a) => a.name === 'errors/test-node/raw.json');
    raw = (await s3.store.get(rawRef?.key ?? 'missing raw.json')).body.toString();
  }, 120_000);

  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    try {
      cg?.remove();
    } finally {
      fs?.unmount();
      if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
      s3.client.destroy();
    }
  });

  it('names the file a process holds open: fd 3 → <dir>/y', () => {
    const row = rowOf(holder);
    expect(row).toMatchObject({ syscall: 'write', errno: 'ENOSPC', cgroupId: cg?.id, cgroup: cg?.path });
    expect(row?.files).toEqual([{ fd: 3, count: expect.any(Number), path: `${fs?.dir}/y`, state: 'open', deleted: false }]);
    expect(row?.files[0]?.count).toBeGreaterThanOrEqual(1);
  });

  it('says when the file was unlinked while open', () => {
    expect(rowOf(unlinked)?.files).toEqual([{ fd: 3, count: expect.any(Number), path: `${fs?.dir}/gone`, state: 'open', deleted: true }]);
  });

  it('says "closed" for a descriptor closed or replaced after it failed, instead of naming what the number holds now', () => {
    // The shell's fd 1 is /dev/null again when the capture ends; the file it failed on is no longer behind it.
    expect(readlinkSync(`/proc/${shell.pid}/fd/1`)).toBe('/dev/null');
    const row = rowOf(shell);
    expect(row).toMatchObject({ syscall: 'write', errno: 'ENOSPC', comm: 'sh' });
    expect(row?.files).toEqual([{ fd: 1, count: expect.any(Number), path: null, state: 'closed', deleted: false }]);
  });

  it('records descriptors only inside the scope: the writer outside the cgroup is in no row and no descriptor count', () => {
    expect(rowOf(outsider)).toBeUndefined();
    const files = Object.keys(readCountMap(raw, FILES_MAP));
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(files.filter((k) => k.split(',')[2] === String(outsider.pid))).toEqual([]);
    expect(result.rows.every((r) => r.cgroupId === cg?.id)).toBe(true);
  });
});

function exeOf(pid: number | undefined): string | null {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
}
