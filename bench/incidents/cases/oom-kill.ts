import { createTestCgroup } from '../../../test/helpers/kernel.ts';
import { createV1Cgroup, spawnInCgroups } from '../../../test/helpers/incidents/v1-cgroup.ts';
import type { Incident } from '../incident.ts';
import { waitUntil } from '../procs.ts';

/**
 * Workers killed by their memory cgroup's OOM killer: a loop restarts th-memhog, which allocates until the 32 MiB
 * limit ends it. The limit is set in the v1 memory hierarchy (this host's v2 has no memory controller); the v2 test
 * cgroup is the target. Nothing node-wide changes: the limit is the cgroup's own and goes with it.
 */
export const oomKill: Incident = {
  name: 'oom-kill',
  symptom: 'workers die with SIGKILL and dmesg mentions memory cgroup',
  async start(t, programs) {
    const cg = createTestCgroup('bench-oom');
    t.add(`remove ${cg.path}`, () => cg.remove());
    const mem = createV1Cgroup('memory', 'oom');
    t.add(`remove ${mem.dir}`, () => mem.remove());
    mem.write('memory.limit_in_bytes', String(32 << 20));
    const oomKills = () => Number(/^oom_kill (\d+)$/m.exec(mem.read('memory.oom_control'))?.[1] ?? 0);
    spawnInCgroups(cg, [mem], 'sh', ['-c', `while :; do "${programs.path('th-memhog')}"; sleep 0.3; done`]);
    return {
      target: { cgroup: cg.path },
      culprit: () => ({ comms: ['th-memhog'], pids: [], cgroup: cg.path, addresses: [] }),
      check: () => waitUntil(() => (oomKills() >= 2 ? null : `memory.oom_control counts ${oomKills()} OOM kills, expected at least 2`), 15_000),
    };
  },
};
