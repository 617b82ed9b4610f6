import { setTimeout as sleep } from 'node:timers/promises';
import { createTestCgroup } from '../../../test/helpers/kernel.ts';
import { netstatCounter } from '../../../test/helpers/incidents/lossy-path.ts';
import type { Incident } from '../incident.ts';
import { pidsNamed } from '../procs.ts';

/**
 * Connections that time out: a listener (th-listener) that never accepts, its backlog of 1 full, so the kernel drops
 * every further SYN. In a network namespace of its own, with tcp_syn_retries=1 there (a per-namespace sysctl), each
 * connect(2) of th-connector gives up with ETIMEDOUT after ~3 s instead of ~2 min. Nothing outside changes.
 */
export const connectionTimeout: Incident = {
  name: 'connection-timeout',
  symptom: 'calls to the payments api hang and then fail with ETIMEDOUT',
  async start(t, programs) {
    const cg = createTestCgroup('bench-timeout');
    t.add(`remove ${cg.path}`, () => cg.remove());
    const script = [
      'ip link set lo up',
      'echo 1 > /proc/sys/net/ipv4/tcp_syn_retries',
      '"$0" 127.0.0.1 8443 &',
      'sleep 0.2',
      // Several callers, as an app's worker pool would be: each waits out its own SYN retries.
      'for i in 1 2 3 4 5 6; do "$1" 127.0.0.1 8443 & done',
      'wait',
    ].join('\n'); // lines, not "; ": "&;" is a syntax error
    cg.spawn('unshare', ['-n', 'sh', '-c', script, programs.path('th-listener'), programs.path('th-connector')]);
    const listener = () => pidsNamed(cg.dir, 'th-listener')[0];
    return {
      target: { cgroup: cg.path },
      culprit: () => ({ comms: ['th-connector'], pids: pidsNamed(cg.dir, 'th-connector'), cgroup: cg.path, addresses: ['127.0.0.1:8443'] }),
      async check() {
        await sleep(500);
        const pid = listener();
        if (!pid) return 'th-listener is not running';
        // SYNs dropped because the accept queue is full: the namespace's own count.
        const before = netstatCounter(pid, 'TcpExt', 'ListenDrops');
        await sleep(2000);
        const n = netstatCounter(pid, 'TcpExt', 'ListenDrops') - before;
        return n >= 3 ? null : `the listener's namespace dropped ${n} SYNs in 2 s`;
      },
    };
  },
};
