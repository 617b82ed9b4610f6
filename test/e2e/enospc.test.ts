import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyscountResult } from '../../bpf/bpftrace/syscount/result.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { createTestCgroup, mountTmpfs, type TestCgroup } from '../helpers/kernel.ts';
import { describeSteps, expectStep } from '../helpers/steps.ts';
import { summaryProblems } from '../helpers/summary-lint.ts';
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

    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    const step = expectStep(inv, 'errors', { id: 'errors', tool: 'syscount', node: 'test-node', status: 'succeeded' });
    const result = step.result as SyscountResult;
    const filler = result.rows.filter((r) => r.comm === 'th-filler');
    expect(filler.length).toBeGreaterThan(0);
    expect(filler.every((r) => r.syscall === 'write' && r.errno === 'ENOSPC' && r.cgroupId === cg.id && r.cgroup === cg.path)).toBe(true);
    expect(filler.reduce((n, r) => n + r.count, 0)).toBeGreaterThanOrEqual(10);
    expect(result.rows.some((r) => r.comm === 'th-outsider')).toBe(false);
    expect(result.rows.every((r) => r.cgroupId === cg.id)).toBe(true);
    expect(result.totalEvents).toBe(result.rows.reduce((n, r) => n + r.count, 0));

    // Each dd opened the file, failed and exited before the capture ended: its descriptor is said to be gone.
    expect(filler.flatMap((r) => r.files).length).toBeGreaterThan(0);
    expect(filler.flatMap((r) => r.files).every((f) => f.fd >= 0 && f.path === null && f.state !== 'open')).toBe(true);

    // The playbook followed write(2) to the filesystem: the headline names it, the cause leads the findings.
    expect(inv.summary?.headline).toBe(`write(2) fails: ${fs.dir} (tmpfs) is full, 1.0 MiB of 1.0 MiB used`);
    expect(inv.summary?.findings[0]).toMatchObject({ severity: 'critical', title: `${fs.dir} (tmpfs) is full` });
    // Seen from a live process of the target (each dd is gone): its mount namespace is the one the path belongs to.
    expect(inv.summary?.findings[0]?.next?.commands[0]).toMatch(new RegExp(`^nsenter -t \\d+ -m df -h ${fs.dir}$`));
    expect(inv.summary?.findings[1]).toMatchObject({ severity: 'critical', title: expect.stringMatching(/^write\(2\) fails with ENOSPC/) });
    expect(inv.summary?.findings[1]?.detail).toMatch(/- th-filler \(pid \d+, cgroup \/tracehound-test-enospc-\w+, node test-node\): \d+ times?, on fd \d+, (closed or replaced after it failed|its process exited before the capture ended)/);
    // The failing writes' descriptors were closed, so no failing file names the filesystem: a strong correlation,
    // pointing at the filesystem's row. The failing calls themselves the kernel reported: high, with their rows.
    const [full, writes] = inv.summary!.findings;
    expect(full!.confidence).toMatchObject({ level: 'medium', reason: expect.stringMatching(/^a strong correlation: statfs reports it full/) });
    expect(full!.evidence[0]).toMatchObject({ artifact: 'filesystems/test-node/result.json', rows: [expect.stringMatching(/^\/filesystems\/\d+$/)] });
    expect(full!.evidence[0]!.quote).toContain(`"mountPoint":"${fs.dir}"`);
    expect(writes!.confidence).toMatchObject({ level: 'high', reason: expect.stringMatching(/^the kernel returned ENOSPC to [\d,]+ write\(2\) calls? of the target's processes/) });
    expect(writes!.evidence).toEqual([{ artifact: 'errors/test-node/result.json', rows: expect.arrayContaining(['/rows/0']), quote: expect.stringContaining('"comm":"th-filler"') }]);
    expectStep(inv, 'filesystems', { status: 'succeeded', tool: 'filesystem-usage' });
    // Branches not taken: in the steps table, in words, and nowhere in the summary.
    for (const id of ['mounts', 'mount-calls', 'refusals', 'mount-path', 'watches']) {
      expectStep(inv, id, { status: 'skipped', skip: 'not-needed', reason: expect.stringMatching(/^not needed: no (mount|inotify_add_watch)\(2\) failed$/) });
    }
    // Two about the target; a capture's cost over budget (a note on the capture, by the host's load) is not counted.
    expect(inv.summary!.findings.filter((f) => !/ over its [\d.]+% budget$/.test(f.title))).toHaveLength(2);
    expect(inv.summary?.notes).toEqual([]);
    expect(summaryProblems(inv.summary!, inv.steps)).toEqual([]);

    // Every artifact the record lists is served back with its content type.
    const names = inv.artifacts.map((a) => a.name).sort();
    expect(names).toEqual([
      // Each capture's measured cost beside its output (README, "What a capture costs").
      'errors/test-node/cost.json', 'errors/test-node/raw.json', 'errors/test-node/result.json',
      'filesystems/test-node/cost.json', 'filesystems/test-node/raw.json', 'filesystems/test-node/result.json',
      'report.html', 'report.md', 'summary.json',
    ]);
    const summary = await sys.get(`/v1/investigations/${inv.id}/artifacts/summary.json`);
    expect(summary.contentType).toMatch(/^application\/json/);
    expect(summary.json).toMatchObject({ schemaVersion: 1, id: inv.id, status: 'succeeded', summary: { headline: inv.summary?.headline } });
    const report = await sys.get(`/v1/investigations/${inv.id}/artifacts/report.md`);
    expect(report.contentType).toMatch(/^text\/markdown/);
    expect(report.text).toContain(inv.summary!.headline);
    // Skipped branches appear once each, as rows of the steps table, never as findings.
    expect(report.text.match(/not needed/g)).toHaveLength(5);
    expect(report.text.split('\n').filter((l) => l.includes('not needed')).every((l) => l.startsWith('| '))).toBe(true);
    const stored = await sys.get(`/v1/investigations/${inv.id}/artifacts/errors/test-node/result.json`);
    expect(stored.json).toEqual(result);
  });

  it('names the file a process holding its descriptor writes to, and that file\'s filesystem', async () => {
    const held = createTestCgroup('enospc-held');
    try {
      // The README's example: the loop's stdout is the file for as long as it runs (a per-command `>&3` would not do:
      // the shell points fd 1 at the file for that one command, and syscount then says "closed or replaced").
      const writer = held.spawn('sh', ['-c', `while :; do echo x; sleep 0.05; done >> "${fs.dir}/held"`]);
      procs.push(writer);
      const res = await sys.post('/v1/investigations', { playbook: 'enospc', target: { cgroup: held.path }, params: { duration: '3s' } });
      const inv = await sys.waitFor(res.json.id as string);

      expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
      const rows = (expectStep(inv, 'errors', { status: 'succeeded' }).result as SyscountResult).rows;
      expect(rows).toEqual([expect.objectContaining({ syscall: 'write', comm: 'sh', pid: writer.pid, files: [expect.objectContaining({ fd: 1, path: `${fs.dir}/held`, state: 'open' })] })]);
      expect(inv.summary?.headline).toBe(`write(2) to ${fs.dir}/held fails: ${fs.dir} (tmpfs) is full, 1.0 MiB of 1.0 MiB used`);
      expect(inv.summary?.findings[0]?.detail).toContain(`The failing writes go to ${fs.dir}/held.`);
      // A failing write names a file on the full filesystem: the kernel said it, so the cause is sure.
      expect(inv.summary?.findings[0]?.confidence.level).toBe('high');
      expect(inv.summary?.findings[0]?.next?.commands[0]).toBe(`nsenter -t ${writer.pid} -m df -h ${fs.dir}`);
      expect(inv.summary?.findings[1]?.detail).toContain(`on ${fs.dir}/held (fd 1)`);
      expect(inv.summary?.findings[1]?.next?.commands).toContain(`ls -l /proc/${writer.pid}/fd/1`);
      expect(summaryProblems(inv.summary!, inv.steps)).toEqual([]);
    } finally {
      for (const p of procs) p.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      held.remove();
    }
  });
});
