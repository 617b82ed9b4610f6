import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestCgroup } from '../../../test/helpers/kernel.ts';
import type { Incident } from '../incident.ts';
import { commOf, waitUntil } from '../procs.ts';

const WATCHER = fileURLToPath(new URL('../../../test/fixtures/inotify-watcher.mjs', import.meta.url));

/** Watches a process holds: the "inotify wd:" lines of its inotify descriptors' fdinfo. */
function watchesOf(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      n += readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

/**
 * A file watcher at its user's inotify watch limit: max_user_watches lowered to 10 inside a user namespace of its
 * own (the limit is per user namespace, so nothing outside changes and nothing needs restoring but the process).
 */
export const inotifyLimit: Incident = {
  name: 'inotify-limit',
  symptom: 'the dev server stopped reloading: ENOSPC: System limit for number of file watchers reached',
  async start(t) {
    const dir = mkdtempSync(join(tmpdir(), 'th-watch-'));
    t.add(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    const cg = createTestCgroup('bench-inotify');
    t.add(`remove ${cg.path}`, () => cg.remove());
    const watcher = cg.spawn('unshare', ['-U', '-r', 'sh', '-c', 'echo 10 > /proc/sys/user/max_inotify_watches && exec "$0" "$@"', process.execPath, WATCHER, dir]);
    return {
      target: { cgroup: cg.path },
      // Node names its main thread "MainThread" from Node 24 on: the comm the kernel reports for the watcher.
      culprit: () => ({ comms: [commOf(watcher.pid!) ?? 'MainThread'], pids: [watcher.pid!], cgroup: cg.path, addresses: [] }),
      check: () =>
        waitUntil(() => {
          const n = watchesOf(watcher.pid!);
          return n === 10 ? null : `the watcher holds ${n} inotify watches, expected the limit of 10`;
        }, 10_000),
    };
  },
};
