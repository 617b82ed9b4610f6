import { readFileSync } from 'node:fs';
import { createTestCgroup } from '../../../test/helpers/kernel.ts';
import type { Incident } from '../incident.ts';
import { cgroupPids, commOf, waitUntil } from '../procs.ts';

/** A quiet service: a process that sleeps. The symptom is vague on purpose; the right answer is "nothing stands out". */
export const nothingWrong: Incident = {
  name: 'nothing-wrong',
  symptom: 'users say the site feels slow sometimes, can you check this service?',
  async start(t) {
    const cg = createTestCgroup('bench-quiet');
    t.add(`remove ${cg.path}`, () => cg.remove());
    const idle = cg.spawn('sleep', ['3600']);
    return {
      target: { cgroup: cg.path },
      culprit: () => ({ comms: [], pids: [idle.pid!], cgroup: cg.path, addresses: [] }),
      check: () =>
        waitUntil(() => {
          const pids = cgroupPids(cg.dir);
          if (pids.length !== 1 || commOf(pids[0]!) !== 'sleep') return `the quiet cgroup holds ${pids.map((p) => commOf(p)).join(', ') || 'nothing'}, expected one sleep`;
          const state = readFileSync(`/proc/${pids[0]}/stat`, 'utf8').split(') ')[1]?.[0];
          return state === 'S' ? null : `the sleeping process is in state ${state}`;
        }, 5_000),
    };
  },
};
