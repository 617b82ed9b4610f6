import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestCgroup } from '../../../test/helpers/kernel.ts';
import type { Incident } from '../incident.ts';
import { cpuSeconds } from '../procs.ts';

/** Two copies of th-burner (test/fixtures/burner.c) burn every CPU of this 2-CPU host, mostly in crunch_alpha. */
export const cpuHog: Incident = {
  name: 'cpu-hog',
  symptom: 'node load is high and the app pegs all cores',
  async start(t, programs) {
    const cg = createTestCgroup('bench-cpu');
    t.add(`remove ${cg.path}`, () => cg.remove());
    const burners = [0, 1].map(() => cg.spawn(programs.path('th-burner'), []));
    return {
      target: { cgroup: cg.path },
      culprit: () => ({ comms: ['th-burner'], pids: burners.map((b) => b.pid!), cgroup: cg.path, addresses: [] }),
      async check() {
        await sleep(500); // each burner first execs through a shell that moves it into the cgroup
        const before = burners.map((b) => cpuSeconds(b.pid!));
        await sleep(1000);
        const used = burners.reduce((n, b, i) => n + cpuSeconds(b.pid!) - before[i]!, 0);
        // Each is always runnable; what share of the CPUs they get depends on what else this host runs.
        const states = burners.map((b) => readFileSync(`/proc/${b.pid}/stat`, 'utf8').split(') ')[1]?.[0]);
        if (states.some((s) => s !== 'R')) return `a burner is not running flat out (states ${states.join(', ')})`;
        return used >= 0.3 ? null : `the burners used ${used.toFixed(2)} CPU seconds in a second, expected at least 0.3`;
      },
    };
  },
};
