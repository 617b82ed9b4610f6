import { setTimeout as sleep } from 'node:timers/promises';
import { createTestCgroup } from '../../../test/helpers/kernel.ts';
import { createV1Cgroup, spawnInCgroups } from '../../../test/helpers/incidents/v1-cgroup.ts';
import type { Incident } from '../incident.ts';

/**
 * A service capped by a CPU quota: th-spinner (a busy sh loop) in a cgroup allowed 20 ms of CPU per 100 ms period,
 * so it is throttled every period while the node's CPUs sit mostly idle. cgroup v1 cpu (cfs_quota_us), since this
 * host's v2 hierarchy has no cpu controller; the quota is the cgroup's own and goes with it.
 */
export const cpuThrottling: Incident = {
  name: 'cpu-throttling',
  symptom: 'p99 latency of the checkout service jumped to 80ms but CPU isn\'t saturated on the node',
  async start(t, programs) {
    const cg = createTestCgroup('bench-quota');
    t.add(`remove ${cg.path}`, () => cg.remove());
    const cpu = createV1Cgroup('cpu', 'quota');
    t.add(`remove ${cpu.dir}`, () => cpu.remove());
    cpu.write('cpu.cfs_period_us', '100000');
    cpu.write('cpu.cfs_quota_us', '20000');
    const throttled = () => Number(/^nr_throttled (\d+)$/m.exec(cpu.read('cpu.stat'))?.[1] ?? 0);
    spawnInCgroups(cg, [cpu], programs.path('th-spinner'), ['-c', 'while :; do :; done']);
    return {
      target: { cgroup: cg.path },
      culprit: () => ({ comms: ['th-spinner'], pids: [], cgroup: cg.path, addresses: [] }),
      async check() {
        const before = throttled();
        await sleep(1000);
        const n = throttled() - before;
        return n >= 5 ? null : `the cgroup was throttled in ${n} periods of the last 10, expected most of them`;
      },
    };
  },
};
