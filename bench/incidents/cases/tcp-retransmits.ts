import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestCgroup } from '../../../test/helpers/kernel.ts';
import { createLossyPath, snmpCounter } from '../../../test/helpers/incidents/lossy-path.ts';
import type { Incident } from '../incident.ts';
import { pidsNamed } from '../procs.ts';

const PORT = '5001';

/**
 * A bulk sender (th-sender, in the target) whose path to its server drops packets in the middle (a router namespace
 * with a small token bucket): its kernel keeps retransmitting. The namespaces go with the run.
 */
export const tcpRetransmits: Incident = {
  name: 'tcp-retransmits',
  symptom: 'uploads to the backup server crawl and stall for a second at a time, we think packets are being dropped',
  async start(t, programs) {
    const path = createLossyPath(t, { rate: '4mbit', burst: '8kb', limit: '12kb' });
    const sink = spawn('ip', ['netns', 'exec', path.server, programs.path('th-sink'), '0.0.0.0', PORT], { stdio: 'ignore' });
    t.add('stop th-sink', () => void sink.kill('SIGKILL'));
    await sleep(200);
    const cg = createTestCgroup('bench-retrans');
    t.add(`remove ${cg.path}`, () => cg.remove());
    cg.spawn('ip', ['netns', 'exec', path.client, programs.path('th-sender'), path.serverAddress, PORT]); // ip execs it
    const sender = () => pidsNamed(cg.dir, 'th-sender')[0];
    return {
      target: { cgroup: cg.path },
      culprit: () => ({ comms: ['th-sender'], pids: [sender() ?? 0].filter(Boolean), cgroup: cg.path, addresses: [path.serverAddress] }),
      async check() {
        await sleep(300);
        const pid = sender();
        if (!pid) return 'th-sender is not running';
        const before = snmpCounter(pid, 'Tcp', 'RetransSegs');
        await sleep(1000);
        const n = snmpCounter(pid, 'Tcp', 'RetransSegs') - before;
        return n >= 5 ? null : `the client's namespace retransmitted ${n} segments in a second`;
      },
    };
  },
};
