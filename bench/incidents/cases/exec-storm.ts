import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestCgroup } from '../../../test/helpers/kernel.ts';
import type { Incident } from '../incident.ts';

/** The kernel's last allocated pid (in the initial pid namespace, where the bench runs). */
const lastPid = () => Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));

/** A shell loop (th-spawner, a copy of sh) forking and executing /bin/true as fast as it can. */
export const execStorm: Incident = {
  name: 'exec-storm',
  symptom: 'load average is 2x the core count but top shows nothing using CPU, lots of short-lived processes',
  async start(t, programs) {
    const cg = createTestCgroup('bench-execs');
    t.add(`remove ${cg.path}`, () => cg.remove());
    // Two loops, one per CPU of this host: one alone starts ~130 processes a second here.
    for (let i = 0; i < 2; i++) cg.spawn(programs.path('th-spawner'), ['-c', 'while :; do /bin/true; done']);
    return {
      target: { cgroup: cg.path },
      culprit: () => ({ comms: ['th-spawner', 'true'], pids: [], cgroup: cg.path, addresses: [] }),
      async check() {
        await sleep(300);
        const before = lastPid();
        await sleep(1000);
        const started = lastPid() - before; // wraps only past pid_max: not within a second
        // Low enough to hold while other work shares this 2-CPU host; a quiet node starts a handful a second.
        return started >= 60 ? null : `only ${started} processes started in a second`;
      },
    };
  },
};
