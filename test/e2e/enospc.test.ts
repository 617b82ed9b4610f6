import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyscountResult } from '../../src/core/tool-results.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { createTestCgroup, mountTmpfs, type TestCgroup } from '../helpers/kernel.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/**
 * The incident: a 1 MiB tmpfs is full; a process in the target cgroup keeps appending to it and gets ENOSPC from
 * write(2). Another process outside the cgroup fails the same way and must not be counted: the filter is in the kernel.
 */
describe.skipIf(skipBpf)(bpfSuiteName('enospc investigation on a full tmpfs, scoped to a cgroup'), () => {
  let sys: TestSystem;
  let fs: { dir: string; unmount(): void };
  let cg: TestCgroup;
  let bin: string;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    assertBpf();
    sys = await startSystem();
    fs = mountTmpfs(1024);
    spawnSync('dd', ['if=/dev/zero', `of=${fs.dir}/ballast`, 'bs=64k'], { stdio: 'ignore' }); // fills it, then fails
    // Copies of dd under distinct names, so the comm in each row says which process it was.
    bin = mkdtempSync(join(tmpdir(), 'th-bin-'));
    for (const name of ['th-filler', 'th-outsider']) {
      copyFileSync('/usr/bin/dd', join(bin, name));
      chmodSync(join(bin, name), 0o755);
    }
    cg = createTestCgroup('enospc');
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    cg?.remove();
    fs?.unmount();
    if (bin) rmSync(bin, { recursive: true, force: true });
    await sys?.stop();
  });

  const appendLoop = (exe: string) => [
    '-c',
    `while :; do "${exe}" if=/dev/zero of="${fs.dir}/more" bs=4k count=1 oflag=append conv=notrunc 2>/dev/null; sleep 0.05; done`,
  ];

  it('names write(2), the process and the cgroup; ignores the same failure outside the cgroup', async () => {
    // The outsider really does fail with ENOSPC, so its absence from the result is the filter's doing.
    const probe = spawnSync(join(bin, 'th-outsider'), ['if=/dev/zero', `of=${fs.dir}/more`, 'bs=4k', 'count=1', 'oflag=append', 'conv=notrunc'], {
      encoding: 'utf8',
    });
    expect(probe.status).not.toBe(0);
    expect(probe.stderr).toMatch(/No space left on device/);

    procs.push(cg.spawn('sh', appendLoop(join(bin, 'th-filler'))));
    procs.push(spawn('sh', appendLoop(join(bin, 'th-outsider')), { stdio: 'ignore' }));

    const res = await sys.post('/v1/investigations', {
      symptom: 'writes fail with No space left on device',
      target: { cgroup: cg.path },
      params: { duration: '4s' },
    });
    expect(res.status).toBe(202);
    expect(res.json.playbook).toBe('enospc');
    const inv = await sys.waitFor(res.json.id as string);

    expect(inv.status).toBe('succeeded');
    const step = inv.steps.find((s) => s.id === 'errors')!;
    expect(step).toMatchObject({ id: 'errors', tool: 'syscount', node: 'test-node', status: 'succeeded' });
    const result = step.result as SyscountResult;
    const filler = result.rows.filter((r) => r.comm === 'th-filler');
    expect(filler.length).toBeGreaterThan(0);
    expect(filler.every((r) => r.syscall === 'write' && r.errno === 'ENOSPC' && r.cgroupId === cg.id && r.cgroup === cg.path)).toBe(true);
    expect(filler.reduce((n, r) => n + r.count, 0)).toBeGreaterThanOrEqual(10);
    expect(result.rows.some((r) => r.comm === 'th-outsider')).toBe(false);
    expect(result.rows.every((r) => r.cgroupId === cg.id)).toBe(true);
    expect(result.totalEvents).toBe(result.rows.reduce((n, r) => n + r.count, 0));

    // The playbook followed write(2) to the filesystem: the headline names it.
    expect(inv.summary?.headline).toBe(`write(2) fails: ${fs.dir} (tmpfs) is full, 1.0 MiB of 1.0 MiB used`);
    expect(inv.summary?.findings[0]).toMatchObject({ severity: 'critical', title: expect.stringMatching(/^write\(2\) fails with ENOSPC/) });
    expect(inv.summary?.findings[0]?.detail).toMatch(/- th-filler \(pid \d+, cgroup \/tracehound-test-enospc-\w+, node test-node\): \d+/);
    expect(inv.summary?.findings).toContainEqual(expect.objectContaining({ severity: 'critical', title: `${fs.dir} (tmpfs, tmpfs) is full` }));
    expect(inv.steps.find((s) => s.id === 'filesystems')).toMatchObject({ status: 'succeeded', tool: 'filesystem-usage' });
    for (const id of ['mounts', 'mount-calls', 'mount-path', 'watches']) {
      expect(inv.steps.find((s) => s.id === id)).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^condition not met/) });
    }

    // Every artifact the record lists is served back with its content type.
    const names = inv.artifacts.map((a) => a.name).sort();
    expect(names).toEqual([
      'errors/test-node/raw.json', 'errors/test-node/result.json', 'filesystems/test-node/raw.json', 'filesystems/test-node/result.json', 'report.html', 'report.md', 'summary.json',
    ]);
    const summary = await sys.get(`/v1/investigations/${inv.id}/artifacts/summary.json`);
    expect(summary.contentType).toMatch(/^application\/json/);
    expect(summary.json).toMatchObject({ schemaVersion: 1, id: inv.id, status: 'succeeded', summary: { headline: inv.summary?.headline } });
    const report = await sys.get(`/v1/investigations/${inv.id}/artifacts/report.md`);
    expect(report.contentType).toMatch(/^text\/markdown/);
    expect(report.text).toContain(inv.summary!.headline);
    const stored = await sys.get(`/v1/investigations/${inv.id}/artifacts/errors/test-node/result.json`);
    expect(stored.json).toEqual(result);
  });
});
