import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NativeRunContext } from '../../tool.ts';
import { inotifyWatches } from './manifest.ts';
import { readInotifyWatches } from './reader.ts';
import { InotifyWatchesResult } from './result.ts';

/**
 * The reader over a stand-in /proc (ctx.procRoot): real files and symlinks laid out as the kernel shows them, every
 * process in the agent's own user namespace (a foreign one would be entered with nsenter, which the integration
 * suite covers on a live system).
 */
const USERNS = 4026531837;
const root = mkdtempSync(join(tmpdir(), 'th-inotify-proc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function file(rel: string, text: string): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
}
function link(rel: string, target: string): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  symlinkSync(target, join(root, rel));
}

/** A process of `uid` holding one inotify instance per entry of `instances` (that many watches each) on fds 3, 4… */
function processOf(pid: number, comm: string, uid: number, instances: number[]): void {
  file(`${pid}/comm`, `${comm}\n`);
  file(`${pid}/stat`, `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1`);
  file(`${pid}/status`, `Name:\t${comm}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\n`);
  link(`${pid}/ns/user`, `user:[${USERNS}]`);
  link(`${pid}/fd/0`, '/dev/null');
  instances.forEach((watches, i) => {
    link(`${pid}/fd/${3 + i}`, 'anon_inode:inotify');
    file(`${pid}/fdinfo/${3 + i}`, `pos:\t0\nflags:\t02000000\n${'inotify wd:1 ino:2 sdev:800001 mask:fc6 ignored_mask:0\n'.repeat(watches)}`);
  });
}

file('sys/user/max_inotify_watches', '100\n');
file('sys/user/max_inotify_instances', '10\n');
link('self/ns/user', `user:[${USERNS}]`);
processOf(100, 'watcher', 1000, [3, 2]);
processOf(200, 'rootd', 0, [1]);
processOf(300, 'app', 1000, []);
processOf(400, 'idle', 1000, []);

function ctx(): NativeRunContext {
  return {
    arch: process.arch,
    cgroupPathOf: () => null,
    scope: { cgroupIds: [], pid: 0 },
    durationMs: 0,
    signal: new AbortController().signal,
    tracefs: null,
    procRoot: root,
    cgroupRoot: join(root, 'no-cgroups'),
  };
}

describe('inotify-watches reader', () => {
  it("reports the focus process's user: every process of it holding watches, against the limits", async () => {
    const run = await readInotifyWatches({ pids: [300] }, ctx());
    expect(InotifyWatchesResult.parse(run.result)).toEqual(run.result);
    expect(run.result).toEqual({
      hostLimit: { watches: 100, instances: 10 },
      users: [
        {
          userns: USERNS, uid: 1000, watches: 5, instances: 2, nsLimit: null, limit: 100, instancesLimit: 10,
          usedShare: 0.05, instancesUsedShare: 0.2, focus: true,
          processes: [
            { pid: 100, comm: 'watcher', watches: 5, instances: 2, focus: false },
            { pid: 300, comm: 'app', watches: 0, instances: 0, focus: true },
          ],
          totalProcesses: 2,
        },
      ],
      totalUsers: 1,
      targets: { requested: [300], alive: [300], exited: [], cgroups: [] },
      fallback: null,
    });
    expect(run.rawFile).toBe('raw.json');
    expect(JSON.parse(run.raw)).toMatchObject({ processesScanned: 4, ownUserns: USERNS });
  });

  it('without a focus process, lists every user holding instances, most used first, and says why', async () => {
    const { result } = await readInotifyWatches({}, ctx());
    expect(result.users.map((u) => [u.uid, u.watches, u.instances, u.usedShare])).toEqual([
      [1000, 5, 2, 0.05],
      [0, 1, 1, 0.01],
    ]);
    expect(result.fallback).toBe('no focus process was given: listing every user holding inotify instances');
  });

  it('is what the manifest runs', () => {
    expect(inotifyWatches.run).toBe(readInotifyWatches);
  });
});
