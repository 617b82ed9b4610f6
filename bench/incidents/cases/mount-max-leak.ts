import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCgroup } from '../../../test/helpers/kernel.ts';
import type { Incident } from '../incident.ts';
import { waitUntil } from '../procs.ts';

const mountCount = (pid: number | string) => {
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

/**
 * A private mount namespace that leaks bind mounts until fs.mount-max, lowered to just above the biggest namespace on
 * the node, refuses more (the reproduction of test/e2e/enospc-causes.test.ts, which keeps its own copy).
 */
export const mountMaxLeak: Incident = {
  name: 'mount-max-leak',
  symptom: 'new containers on this node fail to start: mount: no space left on device, but df shows plenty of space',
  async start(t) {
    const original = readFileSync('/proc/sys/fs/mount-max', 'utf8').trim();
    const biggest = Math.max(...readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(mountCount));
    const limit = biggest + 40;
    const dir = mkdtempSync(join(tmpdir(), 'th-binds-'));
    t.add(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    t.add(`restore fs.mount-max=${original}`, () => {
      writeFileSync('/proc/sys/fs/mount-max', original);
      const now = readFileSync('/proc/sys/fs/mount-max', 'utf8').trim();
      if (now !== original) throw new Error(`fs.mount-max is ${now}, not ${original}`);
    });
    writeFileSync('/proc/sys/fs/mount-max', String(limit));
    const cg = createTestCgroup('bench-mounts');
    t.add(`remove ${cg.path}`, () => cg.remove()); // the namespace and its mounts go with its last process
    const leaker = cg.spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `while :; do mount --bind "${dir}" "${dir}" 2>/dev/null; sleep 0.05; done`]);
    return {
      target: { cgroup: cg.path },
      culprit: () => ({ comms: ['sh', 'mount', 'unshare'], pids: [leaker.pid!], cgroup: cg.path, addresses: [] }),
      async check() {
        // Full when the count stops growing at the limit: mountinfo lists one mount fewer than the kernel counts.
        let last = -1;
        return waitUntil(() => {
          const n = mountCount(leaker.pid!);
          const full = n === last && n >= limit - 2;
          last = n;
          return full ? null : `the namespace holds ${n} mounts, fs.mount-max=${limit}`;
        }, 15_000);
      },
    };
  },
};
