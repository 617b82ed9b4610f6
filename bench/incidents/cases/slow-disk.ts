import { createTestCgroup } from '../../../test/helpers/kernel.ts';
import { createThrottledDisk } from '../../../test/helpers/incidents/throttled-disk.ts';
import { spawnInCgroups } from '../../../test/helpers/incidents/v1-cgroup.ts';
import type { Incident } from '../incident.ts';

const RATE = 192 * 1024; // bytes/s: one 64 KiB direct read takes about 330 ms

/** A volume (a loop device) whose reads are throttled below it: th-reader's 64 KiB direct reads take ~330 ms each. */
export const slowDisk: Incident = {
  name: 'slow-disk',
  symptom: 'reads from the volume take 300 ms sometimes',
  async start(t, programs) {
    const disk = createThrottledDisk(t, { sizeMiB: 32, bytesPerSec: RATE });
    const cg = createTestCgroup('bench-disk');
    t.add(`remove ${cg.path}`, () => cg.remove()); // before the blkio cgroup and the device: registered after them
    const reader = programs.path('th-reader');
    // Reads at random offsets, so nothing is served twice from anywhere.
    spawnInCgroups(cg, [disk.blkio], 'sh', ['-c', `while :; do "${reader}" if=${disk.device} of=/dev/null bs=64k count=1 iflag=direct skip=$(( $(od -An -N2 -tu2 /dev/urandom) % 500 )) 2>/dev/null; done`]);
    return {
      target: { cgroup: cg.path },
      culprit: () => ({ comms: ['th-reader'], pids: [], cgroup: cg.path, addresses: [disk.device] }),
      async check() {
        // One read of our own through the same throttle: it must be slow, and only the throttle makes it so.
        const t0 = performance.now();
        const probe = spawnInCgroups(cg, [disk.blkio], reader, [`if=${disk.device}`, 'of=/dev/null', 'bs=64k', 'count=1', 'iflag=direct', 'skip=501']);
        const code = await new Promise<number | null>((r) => probe.on('exit', r));
        const ms = performance.now() - t0;
        if (code !== 0) return `a direct read of ${disk.device} failed (exit ${code})`;
        const serviced = /^(\S+) Read (\d+)$/m.exec(disk.blkio.read('blkio.throttle.io_serviced'));
        if (!serviced || Number(serviced[2]) === 0) return 'the blkio cgroup serviced no reads';
        return ms >= 150 ? null : `a 64 KiB direct read took ${ms.toFixed(0)} ms, expected about ${((65536 / RATE) * 1000).toFixed(0)}`;
      },
    };
  },
};
