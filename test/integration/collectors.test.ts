import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { filesystemUsage } from '../../bpf/procfs/filesystem-usage/manifest.ts';
import { devString } from '../../bpf/procfs/filesystem-usage/reader.ts';
import { inotifyWatches } from '../../bpf/procfs/inotify-watches/manifest.ts';
import { mountNamespaces } from '../../bpf/procfs/mount-namespaces/manifest.ts';
import type { MountNamespace } from '../../bpf/procfs/mount-namespaces/result.ts';
import { parseMountinfo } from '../../bpf/procfs/procfs.ts';
import type { KernelScope, NativeRunContext } from '../../bpf/tool.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { createTestCgroup, CGROUP_ROOT, mountTmpfs, sleep, type TestCgroup } from '../helpers/kernel.ts';

const execFileP = promisify(execFile);

function context(procRoot = '/proc', scope: KernelScope = { cgroupIds: [], pid: 0 }, cgroupPathOf: (id: number) => string | null = () => null): NativeRunContext {
  return { arch: process.arch, cgroupPathOf, scope, durationMs: 0, signal: new AbortController().signal, tracefs: null, procRoot, cgroupRoot: CGROUP_ROOT };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

function linkOrNull(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

const nsInode = (pid: number | 'self', kind: 'mnt' | 'user') => Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${kind}`))?.[1]);

/**
 * A hand-built procfs: pid 100 (the focus, in mount namespace 10 with 940 stacked bind mounts of one directory whose
 * name has a space), pid 200 a zombie, pid 300 in namespace 20, pid 400 gone half-way (ns link left, no mountinfo),
 * pid 500 another team's leaker (namespace 40, more mounts than the focus one, all of /team-b/vol), pid 600 a
 * focus process whose mountinfo is denied beside pid 601 (not focus) in namespace 50.
 */
function buildStandInProc(): string {
  const root = mkdtempSync(join(tmpdir(), 'th-fakeproc-'));
  const file = (rel: string, body: string) => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), body);
  };
  const link = (rel: string, target: string) => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    symlinkSync(target, join(root, rel));
  };
  file('sys/fs/mount-max', '1000\n');
  file('sys/user/max_inotify_watches', '100\n');
  file('sys/user/max_inotify_instances', '8\n');
  link('self', '100');

  const realRootDev = devString(statSync('/', { bigint: true }).dev);
  const mountinfo = [
    `1 0 ${realRootDev} / / rw,relatime shared:1 - ext4 /dev/vda rw`,
    '2 1 0:21 / /proc rw,nosuid - proc proc rw',
    ...Array.from({ length: 940 }, (_, i) => `${i + 10} 1 8:1 /srv/x /my\\040dir rw,relatime - ext4 /dev/sda1 rw`),
    ...Array.from({ length: 8 }, (_, i) => `${i + 1000} 1 0:${50 + i} / /run/t${i} rw - tmpfs tmpfs rw`),
  ];
  file('100/stat', '100 (app) S 1 100 100 0 -1 0\n');
  file('100/comm', 'app\n');
  file('100/status', 'Name:\tapp\nUid:\t1000\t1000\t1000\t1000\n');
  file('100/mountinfo', `${mountinfo.join('\n')}\n`);
  link('100/ns/mnt', 'mnt:[10]');
  link('100/ns/user', 'user:[1]');
  link('100/root', '/');
  link('100/fd/3', 'anon_inode:inotify');
  file('100/fdinfo/3', `pos:\t0\nflags:\t02004000\n${Array.from({ length: 40 }, (_, i) => `inotify wd:${i + 1} ino:1 sdev:0 mask:fc6 ignored_mask:0\n`).join('')}`);
  link('100/fd/4', '/data/app.log (deleted)');

  file('200/stat', '200 (dead) Z 1 200 200 0 -1 0\n');

  file('300/stat', '300 (other) S 1 300 300 0 -1 0\n');
  file('300/comm', 'other\n');
  file('300/status', 'Name:\tother\nUid:\t0\t0\t0\t0\n');
  file('300/mountinfo', `${mountinfo.slice(0, 5).join('\n')}\n`);
  link('300/ns/mnt', 'mnt:[20]');
  link('300/ns/user', 'user:[1]');
  link('300/fd/5', 'anon_inode:inotify');
  file('300/fdinfo/5', 'pos:\t0\ninotify wd:1 ino:1\ninotify wd:2 ino:2\ninotify wd:3 ino:3\n');

  file('400/stat', '400 (going) S 1 400 400 0 -1 0\n');
  link('400/ns/mnt', 'mnt:[30]');

  file('500/stat', '500 (leaker) S 1 500 500 0 -1 0\n');
  file('500/comm', 'leaker\n');
  file('500/mountinfo', `${[...mountinfo.slice(0, 2), ...Array.from({ length: 958 }, (_, i) => `${i + 5000} 1 8:2 /vol /team-b/vol rw - ext4 /dev/sdb rw`)].join('\n')}\n`);
  link('500/ns/mnt', 'mnt:[40]');

  file('600/stat', '600 (denied) S 1 600 600 0 -1 0\n');
  file('600/comm', 'denied\n');
  link('600/ns/mnt', 'mnt:[50]'); // no mountinfo: the read fails as for a sandbox's init
  file('601/stat', '601 (helper) S 1 601 601 0 -1 0\n');
  file('601/comm', 'helper\n');
  file('601/mountinfo', `${mountinfo.slice(0, 3).join('\n')}\n`);
  link('601/ns/mnt', 'mnt:[50]');
  return root;
}

describe('collectors on a stand-in procfs (processes exiting, denied and zombie)', () => {
  let root: string;
  beforeAll(() => {
    root = buildStandInProc();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('parses mountinfo escapes and bind-mount roots', () => {
    const [m] = parseMountinfo('36 35 98:0 /mnt1 /mnt/my\\040disk rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n');
    expect(m).toEqual({
      id: 36,
      parent: 35,
      dev: '98:0',
      root: '/mnt1',
      mountPoint: '/mnt/my disk',
      options: 'rw,noatime',
      fsType: 'ext3',
      source: '/dev/root',
      superOptions: 'rw,errors=continue',
    });
  });

  it('mount-namespaces: per namespace its own repeated mounts, the focus namespaces first, exited pids and the unreadable namespace', async () => {
    const out = await mountNamespaces.run({ pids: [100, 200, 600, 12345] }, context(root));
    const r = mountNamespaces.result.parse(out.result);
    expect(r.mountMax).toBe(1000);
    expect(r.totalNamespaces).toBe(4);
    const none = { repeated: [], repeatedSources: [] };
    expect(r.namespaces).toEqual([
      {
        ns: 10,
        pid: 100,
        comm: 'app',
        processes: 1,
        mounts: 950,
        usedShare: 0.95,
        nearLimit: true,
        focus: true,
        focusPids: [100],
        repeated: [{ mountPoint: '/my dir', count: 940 }],
        repeatedSources: [
          { source: '/dev/sda1', root: '/srv/x', count: 940 },
          { source: 'tmpfs', root: '/', count: 8 },
        ],
      },
      // A focus namespace whose focus process's mountinfo is denied: counted through 601, still named by 600.
      { ns: 50, pid: 600, comm: 'denied', processes: 2, mounts: 3, usedShare: 0.003, nearLimit: false, focus: true, focusPids: [600], ...none },
      // Another team's namespace: more mounts than the target's, listed after it, with its own repeated mounts only.
      {
        ns: 40,
        pid: 500,
        comm: 'leaker',
        processes: 1,
        mounts: 960,
        usedShare: 0.96,
        nearLimit: true,
        focus: false,
        focusPids: [],
        repeated: [{ mountPoint: '/team-b/vol', count: 958 }],
        repeatedSources: [{ source: '/dev/sdb', root: '/vol', count: 958 }],
      },
      // Neither focus nor near the limit: not analysed (bounded work).
      { ns: 20, pid: 300, comm: 'other', processes: 1, mounts: 5, usedShare: 0.005, nearLimit: false, focus: false, focusPids: [], ...none },
    ]);
    expect(r.nearLimitNamespaces).toEqual([40, 10]);
    expect(r.targets).toEqual({ requested: [100, 200, 600, 12345], alive: [100, 600], exited: [200, 12345], cgroups: [] });
    expect(r.fallback).toBeNull();
    const raw = JSON.parse(out.raw) as {
      unreadableNamespaces: number[];
      skippedReads: { pid: number; what: string; code: string }[];
      namespaces: { ns: number; mountinfoPid: number; focusPids: number[] }[];
      analysed: { ns: number; pid: number; mountinfo: string; complete: boolean }[];
    };
    expect(raw.unreadableNamespaces).toEqual([30]);
    expect(raw.skippedReads).toContainEqual({ pid: 400, what: 'mountinfo', code: 'ENOENT' });
    expect(raw.namespaces.find((n) => n.ns === 50)).toMatchObject({ mountinfoPid: 601, focusPids: [600] });
    // The raw keeps the mountinfo every listed repeated list was computed from, and only those.
    expect(raw.analysed.map((a) => [a.ns, a.pid, a.complete])).toEqual([
      [10, 100, true],
      [50, 601, true],
      [40, 500, true],
    ]);
    expect(raw.analysed[2]!.mountinfo).toBe(readFileSync(join(root, '500/mountinfo'), 'utf8'));
    expect(out.rawFile).toBe('raw.json');
  });

  it('mount-namespaces: with every focus pid gone, analyses the largest namespace and those near the limit, and says so', async () => {
    const r = (await mountNamespaces.run({ pids: [200] }, context(root))).result;
    expect(r.fallback).toMatch(/^none of the focus processes is running/);
    expect(r.namespaces.every((n) => !n.focus && n.focusPids.length === 0)).toBe(true);
    expect(r.namespaces.map((n) => [n.ns, n.repeated[0]?.mountPoint ?? null])).toEqual([
      [40, '/team-b/vol'],
      [10, '/my dir'],
      [20, null],
      [50, null],
    ]);
  });

  it('inotify-watches: the focus user only, or every user holding instances', async () => {
    const focused = (await inotifyWatches.run({ pids: [100] }, context(root))).result;
    expect(focused.hostLimit).toEqual({ watches: 100, instances: 8 });
    expect(focused.users).toEqual([
      {
        userns: 1,
        uid: 1000,
        watches: 40,
        instances: 1,
        nsLimit: null, // the agent's own user namespace (self → 100 → user:[1])
        limit: 100,
        instancesLimit: 8,
        usedShare: 0.4,
        instancesUsedShare: 0.125,
        focus: true,
        processes: [{ pid: 100, comm: 'app', watches: 40, instances: 1, focus: true }],
        totalProcesses: 1,
      },
    ]);
    const everyone = (await inotifyWatches.run({}, context(root))).result;
    expect(everyone.fallback).toMatch(/^no focus process was given/);
    expect(everyone.users.map((u) => [u.uid, u.watches, u.usedShare])).toEqual([
      [1000, 40, 0.4],
      [0, 3, 0.03],
    ]);
  });

  it('filesystem-usage: measures through the process root, maps open (deleted) files to mounts, skips pseudo filesystems', async () => {
    const out = await filesystemUsage.run({ pids: [100] }, context(root));
    const r = filesystemUsage.result.parse(out.result);
    // "/my dir" and /run/t* do not exist through 100/root (→ the real /): ENOENT there means gone, not unmeasured.
    expect(r.filesystems.map((f) => [f.mountPoint, f.fsType, f.openedByFocus, f.pids])).toEqual([['/', 'ext4', true, [100]]]);
    expect(r.unmeasured).toEqual([]);
    expect(r.fallback).toBeNull();
  });

  it('filesystem-usage: failing files are located in their own process\'s namespace (added when not measured yet)', async () => {
    const rootDev = devString(statSync('/', { bigint: true }).dev);
    const files = [
      { pid: 100, path: '/data/app.log' },
      { pid: 601, path: '/x' }, // namespace 50: no focus process there, measured for this file
      { pid: 200, path: '/gone' },
      { pid: 100, path: '/my dir/f' },
      { pid: 100, path: '/data/app.log' },
    ];
    const out = await filesystemUsage.run({ pids: [100], files }, context(root));
    const r = filesystemUsage.result.parse(out.result);
    expect(r.filesystems.map((f) => [f.mountPoint, f.failingFiles])).toEqual([['/', ['/data/app.log', '/x']]]);
    const raw = JSON.parse(out.raw) as { namespaces: { ns: number; pid: number }[]; failingFiles: unknown[] };
    expect(raw.namespaces.map((n) => [n.ns, n.pid])).toEqual([
      [10, 100],
      [50, 601],
    ]);
    expect(raw.failingFiles).toEqual([
      { pid: 100, path: '/data/app.log', ns: 10, mountPoint: '/', dev: rootDev },
      { pid: 601, path: '/x', ns: 50, mountPoint: '/', dev: rootDev },
      { pid: 200, path: '/gone', ns: null, outcome: 'process gone' },
      { pid: 100, path: '/my dir/f', ns: 10, mountPoint: '/my dir', dev: '8:1' },
      { pid: 100, path: '/data/app.log', ns: 10, mountPoint: '/', dev: rootDev },
    ]);
  });

  it('filesystem-usage: nothing alive and pid 1 absent: falls back to the agent itself (self), never throws', async () => {
    const r = (await filesystemUsage.run({ pids: [200, 4_000_000] }, context(root))).result;
    expect(r.targets.exited).toEqual([200, 4_000_000]);
    expect(r.fallback).toMatch(/^none of the focus processes is running .*the agent \(pid 1 cannot be read\)/);
    // The real / is far from full, so the host view lists nothing.
    expect(r.filesystems).toEqual([]);
  });

  it('stops at once when the capture is aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    for (const tool of [mountNamespaces, inotifyWatches, filesystemUsage]) {
      await expect(tool.run({ pids: [100] }, { ...context(root), signal: ac.signal })).rejects.toThrow(/aborted/);
    }
  });

  it('rejects unknown params, too many pids and pids out of range', () => {
    for (const tool of [mountNamespaces, inotifyWatches, filesystemUsage]) {
      expect(tool.params.safeParse({ pids: [1, 2] }).success).toBe(true);
      expect(tool.params.safeParse({}).success).toBe(true);
      expect(tool.params.safeParse({ pid: 1 }).success).toBe(false);
      expect(tool.params.safeParse({ pids: Array.from({ length: 65 }, (_, i) => i + 1) }).success).toBe(false);
      expect(tool.params.safeParse({ pids: [0] }).success).toBe(false);
      expect(tool.params.safeParse({ pids: [1.5] }).success).toBe(false);
      expect(tool.params.safeParse({ pids: [5_000_000] }).success).toBe(false);
      expect(tool.limits).toMatchObject({ minDurationMs: 0, maxDurationMs: 120_000, defaultDurationMs: 0 });
      expect(tool.kind).toBe('native');
      expect(tool.requires).toEqual([]);
    }
  });
});

describe.skipIf(skipBpf)(bpfSuiteName('collectors against real kernel state (namespaces, inotify limits, a full tmpfs)'), () => {
  const children: ChildProcess[] = [];
  const cleanups: (() => void)[] = [];
  beforeAll(() => assertBpf());
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGKILL');
      if (c.exitCode === null && c.signalCode === null) await new Promise((r) => c.once('exit', r));
    }
    for (const f of cleanups.splice(0).reverse()) f();
  });

  it('mount-namespaces: a private namespace with 300 stacked bind mounts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'th-bind-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const ownNs = nsInode('self', 'mnt');
    const child = spawn('unshare', ['-m', '--propagation', 'private', 'sleep', '60'], { stdio: 'ignore' });
    children.push(child);
    const pid = child.pid!;
    await until('the child is in its own mount namespace', () => {
      const l = linkOrNull(`/proc/${pid}/ns/mnt`);
      return l !== null && l !== `mnt:[${ownNs}]` && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep';
    });
    const childNs = nsInode(pid, 'mnt');
    for (let i = 0; i < 300; i++) await execFileP('nsenter', ['-t', String(pid), '-m', 'mount', '--bind', dir, dir]);

    const out = await mountNamespaces.run({ pids: [pid, process.pid] }, context());
    const r = mountNamespaces.result.parse(out.result);
    expect(r.mountMax).toBe(Number(readFileSync('/proc/sys/fs/mount-max', 'utf8')));
    const mine = r.namespaces.find((n) => n.ns === childNs);
    const host = r.namespaces.find((n) => n.ns === ownNs);
    expect(mine).toMatchObject({ pid, comm: 'sleep', focus: true });
    expect(host).toMatchObject({ focus: true });
    expect(mine!.mounts - host!.mounts).toBeGreaterThanOrEqual(300);
    expect(mine!.usedShare).toBe(Math.round((mine!.mounts / r.mountMax!) * 10_000) / 10_000);
    expect(mine).toMatchObject({ focusPids: [pid], nearLimit: false });
    expect(mine!.repeated[0]).toEqual({ mountPoint: dir, count: 300 });
    expect(mine!.repeatedSources[0]).toMatchObject({ root: dir, count: 300 });
    expect(host!.repeated.map((m) => m.mountPoint)).not.toContain(dir);
    expect(r.fallback).toBeNull();
    expect(r.namespaces.map((n) => n.mounts)).toEqual([...r.namespaces.map((n) => n.mounts)].sort((a, b) => b - a));
  });

  it('mount-namespaces: two private namespaces with their own bind-mount leaks, the target\'s first', async () => {
    const base = mkdtempSync(join(tmpdir(), 'th-twons-'));
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    const ownNs = nsInode('self', 'mnt');
    // The test's own fixed script: stack N bind mounts of one directory in a private namespace, then wait there.
    const leak = (name: string, n: number) => {
      const dir = join(base, name);
      mkdirSync(dir);
      const script = 'i=0; while [ $i -lt "$1" ]; do mount --bind "$0" "$0" || exit 1; i=$((i+1)); done; cd /; exec sleep 60';
      const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, dir, String(n)], { stdio: 'ignore' });
      children.push(child);
      return { dir, pid: child.pid! };
    };
    const a = leak('a', 120); // the target's
    const b = leak('b', 240); // another team's, with more mounts
    for (const c of [a, b]) {
      await until(`pid ${c.pid} has made its mounts`, () => linkOrNull(`/proc/${c.pid}/ns/mnt`) !== `mnt:[${ownNs}]` && readFileSync(`/proc/${c.pid}/comm`, 'utf8').trim() === 'sleep', 30_000);
    }
    const [nsA, nsB] = [nsInode(a.pid, 'mnt'), nsInode(b.pid, 'mnt')];
    const points = (n: { repeated: { mountPoint: string }[] }) => n.repeated.map((m) => m.mountPoint);

    // Against the real fs.mount-max (not changed here: it is machine-wide), neither is near the limit: only the
    // target's namespace is analysed, and it is first although the other holds more mounts.
    const r = mountNamespaces.result.parse((await mountNamespaces.run({ pids: [a.pid] }, context())).result);
    const [first] = r.namespaces;
    expect(first).toMatchObject({ ns: nsA, pid: a.pid, comm: 'sleep', focus: true, focusPids: [a.pid], nearLimit: false });
    expect(first!.repeated[0]).toEqual({ mountPoint: a.dir, count: 120 });
    expect(points(first!)).not.toContain(b.dir);
    const other = r.namespaces.find((n) => n.ns === nsB);
    expect(other).toMatchObject({ pid: b.pid, focus: false, focusPids: [], nearLimit: false, repeated: [], repeatedSources: [] });
    expect(other!.mounts).toBeGreaterThan(first!.mounts);

    // The same processes with a mount-max the other namespace is at 95 % of: a procfs of links to the real
    // /proc/<pid> directories beside a stand-in sys/fs/mount-max.
    const overlay = mkdtempSync(join(tmpdir(), 'th-procmax-'));
    cleanups.push(() => rmSync(overlay, { recursive: true, force: true }));
    for (const pid of [a.pid, b.pid, process.pid]) symlinkSync(`/proc/${pid}`, join(overlay, String(pid)));
    const mountsB = readFileSync(`/proc/${b.pid}/mountinfo`, 'utf8').trimEnd().split('\n').length;
    const mountMax = Math.ceil(mountsB / 0.95);
    mkdirSync(join(overlay, 'sys/fs'), { recursive: true });
    writeFileSync(join(overlay, 'sys/fs/mount-max'), `${mountMax}\n`);

    const near = mountNamespaces.result.parse((await mountNamespaces.run({ pids: [a.pid] }, context(overlay))).result);
    expect(near.mountMax).toBe(mountMax);
    expect(near.namespaces.map((n) => [n.ns, n.focus, n.nearLimit])).toEqual([
      [nsA, true, false],
      [nsB, false, true],
      [ownNs, false, false],
    ]);
    expect(near.nearLimitNamespaces).toEqual([nsB]);
    const [target, leaker] = near.namespaces as [MountNamespace, MountNamespace];
    expect(target.repeated[0]).toEqual({ mountPoint: a.dir, count: 120 });
    expect(leaker).toMatchObject({ pid: b.pid, comm: 'sleep', mounts: mountsB });
    expect(leaker.repeated[0]).toEqual({ mountPoint: b.dir, count: 240 });
    expect(leaker.repeatedSources[0]).toMatchObject({ root: b.dir, count: 240 });
    expect(points(leaker)).not.toContain(a.dir);
    expect(points(target)).not.toContain(b.dir);
  });

  it('inotify-watches: a user namespace whose own limit (10) is exhausted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'th-inotify-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    for (let i = 0; i < 12; i++) writeFileSync(join(dir, `f${i}`), '');
    // fs.watch: libuv keeps one inotify instance per loop and adds one watch per distinct path.
    const script = `const fs = require('fs'); let ok = 0;
      for (let i = 0; i < 12; i++) { try { fs.watch(${JSON.stringify(dir)} + '/f' + i); ok++; } catch (e) { if (e.code !== 'ENOSPC') throw e; } }
      console.log('watching ' + ok); setInterval(() => {}, 1e6);`;
    const child = spawn(
      'unshare',
      ['-U', '-r', 'sh', '-c', 'echo 10 > /proc/sys/user/max_inotify_watches && exec "$@"', 'sh', process.execPath, '-e', script],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    let stdout = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    await until('the watcher reports', () => stdout.includes('\n'));
    expect(stdout.trim()).toBe('watching 10'); // the 11th inotify_add_watch failed with ENOSPC
    const pid = child.pid!;

    const out = await inotifyWatches.run({ pids: [pid] }, context());
    const r = inotifyWatches.result.parse(out.result);
    expect(r.hostLimit.watches).toBe(Number(readFileSync('/proc/sys/user/max_inotify_watches', 'utf8')));
    expect(r.hostLimit.instances).toBe(Number(readFileSync('/proc/sys/user/max_inotify_instances', 'utf8')));
    expect(r.users).toHaveLength(1);
    const [u] = r.users;
    expect(u).toMatchObject({
      userns: nsInode(pid, 'user'),
      uid: 0,
      watches: 10,
      limit: 10,
      usedShare: 1,
      focus: true,
      nsLimit: { watches: 10 },
      // As the kernel names it: "node" up to Node 22, "MainThread" from Node 24 (it names its threads).
      processes: [{ pid, comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), watches: 10, instances: 1, focus: true }],
    });
    expect(u!.instancesLimit).toBe(Math.min(u!.nsLimit!.instances, r.hostLimit.instances!));
    expect(r.fallback).toBeNull();
  });

  it('filesystem-usage: a full 1 MiB tmpfs a focus process has a file open on comes first', async () => {
    const fs = mountTmpfs(1024);
    cleanups.push(() => fs.unmount());
    const log = join(fs.dir, 'app.log');
    writeFileSync(log, 'started\n');
    spawnSync('dd', ['if=/dev/zero', `of=${fs.dir}/ballast`, 'bs=64k'], { stdio: 'ignore' }); // fills it, then fails
    const tail = spawn('tail', ['-f', log], { stdio: 'ignore', cwd: '/' });
    children.push(tail);
    const pid = tail.pid!;
    await until('tail has the file open', () => {
      try {
        return readdirSync(`/proc/${pid}/fd`).some((fd) => linkOrNull(`/proc/${pid}/fd/${fd}`) === log);
      } catch {
        return false;
      }
    });

    const out = await filesystemUsage.run({ pids: [pid] }, context());
    const r = filesystemUsage.result.parse(out.result);
    expect(r.filesystems[0]).toMatchObject({
      mountPoint: fs.dir,
      fsType: 'tmpfs',
      source: 'tmpfs',
      mountNs: nsInode(pid, 'mnt'),
      sizeBytes: 1024 * 1024,
      availBytes: 0,
      usedShare: 1,
      readOnly: false,
      full: true,
      openedByFocus: true,
      pids: [pid],
    });
    expect(r.fallback).toBeNull();
    // The root filesystem is not full; tail's libraries and cwd live there.
    expect(r.filesystems.find((f) => f.mountPoint === '/')).toMatchObject({ full: false, openedByFocus: true });

    // The same once the process is gone: the host view lists the full tmpfs and says why it is the host view.
    tail.kill('SIGKILL');
    await new Promise((res) => tail.once('exit', res));
    const after = (await filesystemUsage.run({ pids: [pid] }, context())).result;
    expect(after.targets.exited).toEqual([pid]);
    expect(after.fallback).toMatch(/^none of the focus processes is running/);
    expect(after.filesystems.find((f) => f.mountPoint === fs.dir)).toMatchObject({ full: true, openedByFocus: false, pids: [] });
    expect(after.filesystems.every((f) => f.full || f.usedShare >= 0.95)).toBe(true);
  });

  it('filesystem-usage: the full tmpfs a failing file is on, in its process\'s own namespace, comes first', async () => {
    const base = mkdtempSync(join(tmpdir(), 'th-failing-'));
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    // Another full tmpfs everyone sees, whose name sorts before the private one: only the failing file puts that first.
    const shared = join(base, 'a-shared');
    const privateDir = join(base, 'b-private');
    mkdirSync(shared);
    mkdirSync(privateDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1024k', 'tmpfs', shared]);
    cleanups.push(() => execFileSync('umount', ['-l', shared]));
    spawnSync('dd', ['if=/dev/zero', `of=${shared}/ballast`, 'bs=64k'], { stdio: 'ignore' });
    // The test's own fixed script: a 1 MiB tmpfs in a private namespace, filled through the file y; cwd elsewhere.
    const child = spawn(
      'unshare',
      ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=1024k tmpfs "$0" && { dd if=/dev/zero of="$0/y" bs=64k 2>/dev/null; cd /; exec sleep 60; }', privateDir],
      { stdio: 'ignore' },
    );
    children.push(child);
    const pid = child.pid!;
    await until('sleep waits beside its full private tmpfs', () => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep');
    const file = join(privateDir, 'y');
    const expected = { mountPoint: privateDir, fsType: 'tmpfs', mountNs: nsInode(pid, 'mnt'), sizeBytes: 1024 * 1024, full: true, openedByFocus: false, failingFiles: [file] };

    const r = filesystemUsage.result.parse((await filesystemUsage.run({ pids: [pid], files: [{ pid, path: file }] }, context())).result);
    expect(r.filesystems[0]).toMatchObject(expected);
    expect(r.filesystems.find((f) => f.mountPoint === shared)).toMatchObject({ full: true, failingFiles: [] });

    // The file's process is not a focus process: its namespace is measured for the file, and the path is looked up
    // there (in the test's own namespace the same path is a plain directory on another filesystem).
    const other = filesystemUsage.result.parse((await filesystemUsage.run({ pids: [process.pid], files: [{ pid, path: file }] }, context())).result);
    expect(other.filesystems[0]).toMatchObject(expected);
    expect(other.filesystems.filter((f) => f.failingFiles.length > 0).map((f) => f.mountPoint)).toEqual([privateDir]);
  });

  it('filesystem-usage: a full tmpfs that exists only in another mount namespace, measured through /proc/<pid>/root', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'th-nsfs-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // The test's own fixed script: mount and fill a tmpfs inside a private namespace, then wait there (cwd on it).
    const child = spawn(
      'unshare',
      ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=512k tmpfs "$0" && cd "$0" && { dd if=/dev/zero of=z bs=64k 2>/dev/null; exec sleep 60; }', dir],
      { stdio: 'ignore' },
    );
    children.push(child);
    const pid = child.pid!;
    await until('sleep waits on the private tmpfs', () => linkOrNull(`/proc/${pid}/cwd`) === dir && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir); // invisible from the agent's namespace

    const r = (await filesystemUsage.run({ pids: [pid] }, context())).result;
    expect(r.filesystems[0]).toMatchObject({ mountPoint: dir, fsType: 'tmpfs', mountNs: nsInode(pid, 'mnt'), sizeBytes: 512 * 1024, full: true, openedByFocus: true, pids: [pid] });
  });

  it('takes the focus processes from the scope: every cgroup of the set (cgroup.procs), narrowed to the pid when given', async () => {
    // Two containers of a pod in the set, a cgroup outside it, and an id whose cgroup is gone (an exited container).
    const [a, b, outside] = ['collectors-a', 'collectors-b', 'collectors-out'].map((label) => {
      const cg: TestCgroup = createTestCgroup(label);
      cleanups.push(() => cg.remove());
      return cg;
    }) as [TestCgroup, TestCgroup, TestCgroup];
    const pids = [a, b, outside].map((cg) => {
      const child = cg.spawn('sleep', ['60']);
      children.push(child);
      return child.pid!;
    });
    for (const [i, cg] of [a, b, outside].entries()) {
      const pid = pids[i]!;
      await until(`sleep runs in ${cg.path}`, () => readFileSync(join(cg.dir, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid)) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep');
    }
    const [inA, inB] = pids as [number, number, number];
    const gone = b.id + 1_000_000;

    const paths = new Map([a, b, outside].map((cg) => [cg.id, cg.path]));
    const pathOf = (id: number) => paths.get(id) ?? null;
    const r = (await mountNamespaces.run({}, context('/proc', { cgroupIds: [a.id, gone, b.id], pid: 0 }, pathOf))).result;
    const focus = [inA, inB].sort((x, y) => x - y);
    expect(r.targets).toEqual({ requested: focus, alive: focus, exited: [], cgroups: [a.path, b.path] });
    expect(r.namespaces.find((n) => n.ns === nsInode(inA, 'mnt'))?.focus).toBe(true);
    expect(r.fallback).toBeNull();

    // A pid narrows the set as the kernel filters do: one in it is the only focus, one outside it adds nothing.
    const narrowed = (await mountNamespaces.run({}, context('/proc', { cgroupIds: [a.id, b.id], pid: inB }, pathOf))).result;
    expect(narrowed.targets).toMatchObject({ requested: [inB], alive: [inB], cgroups: [a.path, b.path] });
    const outsider = (await mountNamespaces.run({}, context('/proc', { cgroupIds: [a.id, b.id], pid: process.pid }, pathOf))).result;
    expect(outsider.targets.requested).not.toContain(process.pid);
  });
});
