import { spawnSync } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { createTestCgroup, mountTmpfs } from '../../../test/helpers/kernel.ts';
import type { Incident } from '../incident.ts';
import { pidsNamed } from '../procs.ts';

/** A 1 MiB tmpfs filled to the last block; a process in the target keeps appending to it (as test/e2e/enospc.test.ts). */
export const diskFull: Incident = {
  name: 'disk-full',
  symptom: 'our exporter keeps failing to write its spool file: "No space left on device"',
  async start(t, programs) {
    const fs = mountTmpfs(1024);
    t.add(`unmount ${fs.dir}`, () => fs.unmount());
    spawnSync('dd', ['if=/dev/zero', `of=${fs.dir}/ballast`, 'bs=64k'], { stdio: 'ignore' }); // fills it, then fails
    const cg = createTestCgroup('bench-disk-full');
    t.add(`remove ${cg.path}`, () => cg.remove());
    const filler = programs.path('th-filler');
    cg.spawn('sh', ['-c', `while :; do "${filler}" if=/dev/zero of="${fs.dir}/spool" bs=4k count=1 oflag=append conv=notrunc 2>/dev/null; sleep 0.05; done`]);
    return {
      target: { cgroup: cg.path },
      culprit: () => ({ comms: ['th-filler'], pids: [], cgroup: cg.path, addresses: [] }),
      async check() {
        const s = statfsSync(fs.dir);
        if (s.bavail !== 0) return `${fs.dir} still has ${s.bavail} free blocks`;
        // th-filler lives ~ms per run: the loop's shell is what stays; a probe write proves the failure itself.
        const probe = spawnSync(filler, ['if=/dev/zero', `of=${fs.dir}/spool`, 'bs=4k', 'count=1', 'oflag=append', 'conv=notrunc'], { encoding: 'utf8' });
        if (!/No space left on device/.test(probe.stderr)) return `a write to ${fs.dir} did not fail with ENOSPC: ${probe.stderr.trim()}`;
        return pidsNamed(cg.dir, 'sh').length > 0 ? null : 'the appending loop is not running';
      },
    };
  },
};
