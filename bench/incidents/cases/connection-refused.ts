import { setTimeout as sleep } from 'node:timers/promises';
import { createTestCgroup } from '../../../test/helpers/kernel.ts';
import { snmpCounter } from '../../../test/helpers/incidents/lossy-path.ts';
import type { Incident } from '../incident.ts';
import { pidsNamed } from '../procs.ts';

/**
 * A client (th-connector) whose database is not there: in a network namespace of its own (unshare -n: it goes with
 * the process), nothing listens on 127.0.0.1:5433, so each connect(2) is answered with a reset: ECONNREFUSED.
 */
export const connectionRefused: Incident = {
  name: 'connection-refused',
  symptom: 'the app can\'t reach postgres, its logs are full of connection refused',
  async start(t, programs) {
    const cg = createTestCgroup('bench-refused');
    t.add(`remove ${cg.path}`, () => cg.remove());
    cg.spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" 127.0.0.1 5433', programs.path('th-connector')]);
    const connector = () => pidsNamed(cg.dir, 'th-connector')[0];
    return {
      target: { cgroup: cg.path },
      culprit: () => ({ comms: ['th-connector'], pids: [connector() ?? 0].filter(Boolean), cgroup: cg.path, addresses: ['127.0.0.1:5433'] }),
      async check() {
        await sleep(300);
        const pid = connector();
        if (!pid) return 'th-connector is not running';
        // Each refused connect is an attempt that failed, and a reset the namespace sent to itself.
        const before = snmpCounter(pid, 'Tcp', 'AttemptFails');
        await sleep(1000);
        const n = snmpCounter(pid, 'Tcp', 'AttemptFails') - before;
        return n >= 10 ? null : `only ${n} connection attempts failed in a second`;
      },
    };
  },
};
