import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CGROUP_ROOT, createTestCgroup, sleep, type TestCgroup } from '../../../test/helpers/kernel.ts';
import { createV1Cgroup, hasV1Controller, spawnInCgroups, type V1Cgroup } from '../../../test/helpers/incidents/v1-cgroup.ts';
import { readCpuThrottling } from './reader.ts';

/**
 * The reader on a real kernel: a busy loop under a 20 ms / 100 ms quota, in the v1 cpu hierarchy where one is mounted
 * (a hybrid host), else in cgroup v2 with the cpu controller enabled for the test cgroup (a pure v2 guest), which the
 * test restores.
 */
const V2_SUBTREE = join(CGROUP_ROOT, 'cgroup.subtree_control');

describe('cpu-throttling on this kernel', () => {
  let cg: TestCgroup | undefined;
  let v1: V1Cgroup | undefined;
  let enabledCpu = false;
  afterEach(async () => {
    cg?.remove();
    await v1?.remove();
    if (enabledCpu) writeFileSync(V2_SUBTREE, '-cpu');
    cg = undefined;
    v1 = undefined;
    enabledCpu = false;
  });

  it('reads a busy loop held to 0.2 CPU: throttled in most periods, the quota used up, the loop named', async () => {
    cg = createTestCgroup('throttle-kernel');
    if (hasV1Controller('cpu')) {
      v1 = createV1Cgroup('cpu', 'throttle-kernel');
      v1.write('cpu.cfs_period_us', '100000');
      v1.write('cpu.cfs_quota_us', '20000');
      spawnInCgroups(cg, [v1], 'sh', ['-c', 'while :; do :; done']);
    } else {
      if (!readFileSync(V2_SUBTREE, 'utf8').split(' ').map((s) => s.trim()).includes('cpu')) {
        writeFileSync(V2_SUBTREE, '+cpu');
        enabledCpu = true;
      }
      expect(existsSync(join(cg.dir, 'cpu.max'))).toBe(true);
      writeFileSync(join(cg.dir, 'cpu.max'), '20000 100000');
      cg.spawn('sh', ['-c', 'while :; do :; done']);
    }
    await sleep(300);
    const run = await readCpuThrottling({}, {
      arch: process.arch,
      cgroupPathOf: (id) => (id === cg!.id ? cg!.path : null),
      scope: { cgroupIds: [cg.id], pid: 0 },
      durationMs: 2_000,
      signal: new AbortController().signal,
      tracefs: null,
      procRoot: '/proc',
      cgroupRoot: CGROUP_ROOT,
    });
    const [top] = run.result.cgroups;
    expect(top).toMatchObject({ hierarchy: v1 ? 'v1' : 'v2', leaf: true, quota: { cpus: 0.2 }, targetCgroups: [cg.path] });
    expect(top!.periods).toBeGreaterThanOrEqual(15);
    expect(top!.throttledShare).toBeGreaterThan(0.5);
    expect(top!.throttledUs).toBeGreaterThan(0);
    expect(top!.usageCpus).toBeGreaterThan(0.1);
    expect(top!.usageCpus).toBeLessThan(0.3);
    expect(top!.processes[0]?.comm).toBe('sh');
  }, 60_000);
});
