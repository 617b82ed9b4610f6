import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { tools } from '../../bpf/index.ts';
import type { FileResolution } from '../../bpf/failing-file.ts';
import { FilesystemUsageResult, type FilesystemEntry } from '../../bpf/procfs/filesystem-usage/result.ts';
import { InotifyWatchesResult, type InotifyWatchesResult as Watches } from '../../bpf/procfs/inotify-watches/result.ts';
import { MountNamespacesResult, type MountNamespace } from '../../bpf/procfs/mount-namespaces/result.ts';
import { MountRefusalsResult } from '../../bpf/bpftrace/mount-refusals/result.ts';
import type { Finding, Investigation, Step } from '../../src/core/investigation.ts';
import { PlaybookDoc } from '../../src/playbooks/schema.ts';
import type { Playbook } from '../../src/playbooks/playbook.ts';
import { SyscountResult, type SyscountRow } from '../../bpf/bpftrace/syscount/result.ts';
import { loadPlaybooks } from '../../src/playbooks/load.ts';
import { summaryProblems } from '../helpers/summary-lint.ts';

/**
 * Every finding template of every playbook, rendered over recorded captures (each bpftrace tool's fixtures) and,
 * for the enospc causes, over collector results at their edges (empty lists, a source that repeats the type,
 * a closed descriptor, two namespaces at the limit): the summary must read well and point at artifacts.
 */
const NODE = 'node-17';
const BPF_DIR = fileURLToPath(new URL('../../bpf/bpftrace/', import.meta.url));
const PLAYBOOK_DIR = fileURLToPath(new URL('../../playbooks/', import.meta.url));
const parseCtx = { arch: 'x64', cgroupPathOf: (id: number) => `/fixture/${id}` };

const done = (id: string, tool: string, result: unknown, extra: string[] = []): Step => ({
  id, tool, node: NODE, status: 'succeeded', result, artifacts: ['raw.json', 'result.json', ...extra].map((f) => `${id}/${NODE}/${f}`),
});
const notNeeded = (id: string, tool: string): Step => ({ id, tool, node: null, status: 'skipped', skip: 'not-needed', reason: 'not needed: a test', artifacts: [] });
const investigation = (playbook: string, steps: Step[]): Investigation => ({
  id: 'inv_0123456789abcdefghjkmnpqrs', status: 'running', playbook, target: { cgroup: '/app' }, params: {}, createdAt: '2026-12-05T00:00:00.000Z', requestedBy: 'test', steps, artifacts: [],
});

/** Results parsed from a bpftrace tool's recorded fixtures, with the step's literal parameters. */
function recorded(tool: string, params: Record<string, unknown>): { result: unknown; files: string[]; raw: string }[] {
  const t = tools[tool];
  if (!t || t.kind !== 'bpftrace') return [];
  const dir = `${BPF_DIR}${tool}/fixtures/`;
  const literal = Object.fromEntries(Object.entries(params).filter(([, v]) => typeof v !== 'object' || Array.isArray(v)));
  return readdirSync(dir)
    // `<name>.fds.json` beside a recording: where its descriptors pointed when that capture ended.
    .filter((f) => f.endsWith('.json') && !f.endsWith('.fds.json'))
    .sort()
    .map((f) => {
      const fds = `${dir}${f.replace(/\.json$/, '.fds.json')}`;
      const resolved = existsSync(fds) ? (JSON.parse(readFileSync(fds, 'utf8')) as Record<string, FileResolution>) : null;
      const ctx = resolved ? { ...parseCtx, fileOf: (pid: number, fd: number) => resolved[`${pid},${fd}`] ?? { path: null, state: 'exited' as const, deleted: false } } : parseCtx;
      const raw = readFileSync(dir + f, 'utf8');
      const parsed = t.parse(raw, t.params.parse(literal), ctx);
      return { result: parsed.result, files: parsed.extraArtifacts.map((a) => a.file), raw };
    });
}

describe('every playbook reads well over recorded captures', async () => {
  const playbooks = await loadPlaybooks();
  const docs = Object.fromEntries(
    readdirSync(PLAYBOOK_DIR).filter((f) => f.endsWith('.yaml')).map((f) => {
      const doc = PlaybookDoc.parse(parseYaml(readFileSync(PLAYBOOK_DIR + f, 'utf8')));
      return [doc.name, doc];
    }),
  );
  for (const playbook of playbooks) {
    const doc = docs[playbook.name]!;
    const variants = doc.steps.map((s) => recorded(s.tool, s.params));
    const count = Math.max(1, ...variants.map((v) => v.length));
    it(`${playbook.name}: ${count} variant(s)`, () => {
      for (let v = 0; v < count; v++) {
        // Steps with a recorded capture succeed; the others (collectors, tracefs) are branches not taken here.
        // The recordings are the raw outputs as stored: evidence lines are checked against them.
        const texts = new Map<string, string>();
        const steps = doc.steps.map((s, i) => {
          const results = variants[i]!;
          const r = results[v % results.length];
          if (r) texts.set(`${s.id}/${NODE}/raw.json`, r.raw);
          return r ? done(s.id, s.tool, r.result, r.files) : notNeeded(s.id, s.tool);
        });
        const params = playbook.params.parse({});
        const summary = playbook.summarize({ investigation: investigation(playbook.name, steps), params, steps });
        expect({ variant: v, problems: summaryProblems(summary, steps, texts) }).toEqual({ variant: v, problems: [] });
      }
    });
  }
});

const targets = { requested: [4242], alive: [4242], exited: [], cgroups: ['/app'] };
const row = (r: Partial<SyscountRow>): SyscountRow => ({
  syscall: 'write', errno: 'ENOSPC', comm: 'app', pid: 4242, cgroupId: 77, cgroup: '/app', pod: null, count: 48, files: [], ...r,
});
const errors = (rows: SyscountRow[]) => done('errors', 'syscount', SyscountResult.parse({ rows, totalEvents: rows.reduce((n, r) => n + r.count, 0) }));
const namespace = (n: Partial<MountNamespace>): MountNamespace => ({
  ns: 4026532000, pid: 4242, comm: 'sh', processes: 2, mounts: 62, usedShare: 62 / 63, nearLimit: true, focus: true, focusPids: [4242],
  repeated: [], repeatedSources: [], ...n,
});
const mounts = (namespaces: MountNamespace[]) =>
  done('mounts', 'mount-namespaces', MountNamespacesResult.parse({
    mountMax: 63, totalNamespaces: namespaces.length, namespaces, nearLimitNamespaces: namespaces.filter((n) => n.nearLimit).map((n) => n.ns), targets, fallback: null,
  }));
const MiB = 1024 * 1024;
const filesystem = (f: Partial<FilesystemEntry>): FilesystemEntry => ({
  mountPoint: '/tmp/full', fsType: 'tmpfs', source: 'tmpfs', mountNs: 4026531841, dev: '0:77', sizeBytes: MiB, usedBytes: MiB, availBytes: 0,
  usedShare: 1, inodes: { total: 1000, free: 990 }, inodesUsedShare: 0.01, readOnly: false, full: true, openedByFocus: false, pids: [], failingFiles: [], ...f,
});
const filesystems = (entries: FilesystemEntry[]) =>
  done('filesystems', 'filesystem-usage', FilesystemUsageResult.parse({ filesystems: entries, totalFilesystems: entries.length, unmeasured: [], targets, fallback: null }));
const watchesOf = (users: Watches['users']) =>
  done('watches', 'inotify-watches', InotifyWatchesResult.parse({ hostLimit: { watches: 8192, instances: 128 }, users, totalUsers: users.length, targets, fallback: null }));
const user = (u: Partial<Watches['users'][number]>): Watches['users'][number] => ({
  userns: 4026531837, uid: 0, watches: 10, instances: 1, nsLimit: { watches: 10, instances: 128 }, limit: 10, instancesLimit: 128, usedShare: 1,
  instancesUsedShare: 0.01, focus: true, processes: [], totalProcesses: 0, ...u,
});

describe('enospc findings at their edges', async () => {
  const enospc = (await loadPlaybooks()).find((p) => p.name === 'enospc') as Playbook;
  const others = ['mounts', 'mount-calls', 'refusals', 'mount-path', 'watches', 'filesystems'];
  const summarize = (given: Step[]) => {
    const ids = new Set(given.map((s) => s.id));
    const steps = [...given, ...others.filter((id) => !ids.has(id)).map((id) => notNeeded(id, 'x'))];
    const summary = enospc.summarize({ investigation: investigation('enospc', steps), params: enospc.params.parse({}), steps });
    expect(summaryProblems(summary, steps)).toEqual([]);
    return summary;
  };

  const refusals = (variant: 'kprobe' | 'tracepoint') => ({
    ...done('refusals', 'mount-refusals', MountRefusalsResult.parse({
      namespaces: [{ mntns: 4026532156, refused: 24, allowed: 0, processes: [{ comm: 'mount', cgroupId: 23, refused: 24, allowed: 0, pids: [210, 214] }] }],
      totalRefused: 24,
      totalAllowed: 0,
    })),
    variant,
  });

  it('names what count_mounts refused, per mount namespace, and says what a tracepoint count proves', () => {
    const base = [errors([row({ syscall: 'mount', comm: 'mount', pid: 4250 })])];
    const fromRefusals = (f: Finding) => f.evidence.some((e) => e.artifact === 'refusals/node-17/result.json');
    const byKprobe = summarize([...base, refusals('kprobe')]).findings.find(fromRefusals);
    expect(byKprobe).toMatchObject({ severity: 'critical', title: 'count_mounts refused 24 mounts in mount namespace 4026532156' });
    // The kernel's own check refused them: as sure as it gets, pointing at that namespace's row.
    expect(byKprobe!.confidence).toEqual({ level: 'high', reason: 'the kernel said it: count_mounts, its fs.mount-max check, refused 24 mounts in this namespace' });
    expect(byKprobe!.evidence[0]).toMatchObject({ artifact: 'refusals/node-17/result.json', rows: ['/namespaces/0'] });
    expect(byKprobe!.detail).toContain("count_mounts is the kernel's fs.mount-max check: every refusal here is the limit.");
    expect(byKprobe!.detail).toContain('By mount (pids 210, 214): 24 refused, 0 allowed.');
    expect(byKprobe!.detail).toContain('None was allowed in the window.');
    expect(byKprobe!.next?.commands).toEqual(['lsns -t mnt | grep 4026532156', 'sysctl fs.mount-max']);
    const byTracepoint = summarize([...base, refusals('tracepoint')]).findings.find(fromRefusals);
    expect(byTracepoint!.title).toBe('mount(2) failed with ENOSPC 24 times in mount namespace 4026532156');
    // mount(2) failing with ENOSPC is the limit in practice, but inferred: one level down, saying why.
    expect(byTracepoint!.confidence.level).toBe('medium');
    expect(byTracepoint!.confidence.reason).toContain('that it is fs.mount-max is inferred');
    expect(byTracepoint!.detail).toContain('this kernel has no kprobes for count_mounts itself');
  });

  it('blames the target namespace, and warns of another at the limit with its own repeated mounts', () => {
    const s = summarize([
      errors([row({ syscall: 'mount', comm: 'mount', pid: 4250 })]),
      mounts([
        // Sorted as the collector sorts: the focus namespace first, however many mounts the other holds.
        namespace({ pid: 4242, comm: 'sh', mounts: 62, focusPids: [4250], repeated: [{ mountPoint: '/tmp/th-binds', count: 40 }] }),
        namespace({ ns: 4026532111, pid: 999, comm: 'leaky-job', mounts: 63, usedShare: 1, focus: false, focusPids: [], repeated: [{ mountPoint: '/srv/other', count: 50 }] }),
        namespace({ ns: 4026531841, pid: 1, comm: 'systemd', mounts: 30, usedShare: 30 / 63, nearLimit: false, focus: false, focusPids: [] }),
      ]),
    ]);
    expect(s.headline).toBe('mount(2) fails: mount namespace of pid 4242 (sh) holds 62 mounts, limit fs.mount-max=63');
    const [target, , other] = s.findings;
    expect(target).toMatchObject({ severity: 'critical', title: 'Mount namespace of pid 4242 (sh) holds 62 mounts: 98% of fs.mount-max' });
    expect(target!.detail).toContain('Target processes in it: pid 4250.');
    expect(target!.detail).toContain('Mount points repeated most: /tmp/th-binds ×40.');
    expect(target!.detail).not.toContain('/srv/other');
    expect(target!.next?.commands).toEqual(['findmnt -N 4242 -o TARGET,SOURCE,FSTYPE', 'wc -l < /proc/4242/mountinfo', 'sysctl fs.mount-max']);
    expect(target!.next?.remedy).toMatch(/MS_BIND\|MS_REC.*MNT_DETACH.*docker cp.*only a stopgap/s);
    expect(other).toMatchObject({
      severity: 'warning',
      title: 'Another mount namespace on this node is also at the limit: pid 999 (leaky-job), not in the target, holds 63 mounts',
    });
    expect(other!.detail).toContain('Its mount points repeated most: /srv/other ×50.');
    expect(other!.detail).not.toContain('/tmp/th-binds');
    expect(s.findings.map((f) => f.severity)).toEqual(['critical', 'critical', 'warning']);
  });

  it('says so when the namespace holds many distinct mounts, and gives no target headline when only another namespace is full', () => {
    const s = summarize([errors([row({ syscall: 'mount', comm: 'mount' })]), mounts([namespace({ focusPids: [4242, 4243] })])]);
    expect(s.findings[0]!.detail).toContain('Target processes in it: pid 4242, 4243. No mount point is mounted more than once');
    const elsewhere = summarize([
      errors([row({ syscall: 'mount', comm: 'mount' })]),
      mounts([namespace({ nearLimit: false, mounts: 20, usedShare: 20 / 63 }), namespace({ ns: 5, pid: 999, comm: 'other', focus: false, focusPids: [] })]),
    ]);
    // The failures are seen, their usual cause is not there: the headline says so instead of guessing one.
    expect(elsewhere.headline).toBe('mount(2) fails with ENOSPC (48 times in mount), but no cause was found: no mount namespace near fs.mount-max');
    expect(elsewhere.findings.map((f) => [f.severity, f.title.slice(0, 40)])).toEqual([
      ['critical', 'mount(2) fails with ENOSPC (48 times)'],
      ['warning', 'Another mount namespace on this node is '],
      ['info', 'Ruled out: no mount namespace of the tar'],
    ]);
    const ruledOut = elsewhere.findings[2]!;
    expect(ruledOut.title).toBe('Ruled out: no mount namespace of the target is near fs.mount-max=63');
    expect(ruledOut.detail).toContain('The largest holds 20 mounts of 2 namespaces read on the node');
    expect(ruledOut.evidence).toEqual([
      { artifact: 'mounts/node-17/result.json', rows: ['/mountMax', '/totalNamespaces', '/nearLimitNamespaces'], quote: expect.stringContaining('"/mountMax":63') },
    ]);
  });

  it('names the file and its filesystem for a full disk, without repeating the type as the source', () => {
    const open = { fd: 3, count: 48, path: '/tmp/full/y', state: 'open' as const, deleted: false };
    const s = summarize([errors([row({ files: [open] })]), filesystems([filesystem({ failingFiles: ['/tmp/full/y'] })])]);
    expect(s.headline).toBe('write(2) to /tmp/full/y fails: /tmp/full (tmpfs) is full, 1.0 MiB of 1.0 MiB used');
    expect(s.findings[0]).toMatchObject({ severity: 'critical', title: '/tmp/full (tmpfs) is full' });
    expect(s.findings[0]!.detail).toBe('1.0 MiB of 1.0 MiB used, 0 B available; 10 of 1,000 inodes used. The failing writes go to /tmp/full/y.');
    expect(s.findings[0]!.next?.commands[0]).toBe('nsenter -t 4242 -m df -h /tmp/full');
    // The full filesystem's row and the failing writes' row, each quoted; the kernel refused writes to a file on it.
    expect(s.findings[0]!.evidence).toEqual([
      { artifact: 'filesystems/node-17/result.json', rows: ['/filesystems/0'], quote: expect.stringContaining('"mountPoint":"/tmp/full"') },
      { artifact: 'errors/node-17/result.json', rows: ['/rows/0'], quote: expect.stringContaining('"path":"/tmp/full/y"') },
    ]);
    expect(s.findings[0]!.confidence).toEqual({ level: 'high', reason: 'the kernel returned ENOSPC to writes to /tmp/full/y, on this filesystem, and statfs reports it full' });
    expect(s.findings[1]!.detail).toBe('- app (pid 4242, cgroup /app, node node-17): 48 times, on /tmp/full/y (fd 3)');
  });

  it('reads well for a disk out of inodes on a device, a closed descriptor and no process with files on it', () => {
    const closed = { fd: 1, count: 48, path: null, state: 'closed' as const, deleted: false };
    const s = summarize([
      errors([row({ syscall: 'openat', comm: 'sh', files: [] }), row({ pid: 4243, comm: 'sh', files: [closed] })]),
      filesystems([filesystem({ mountPoint: '/var/lib/my data', fsType: 'ext4', source: '/dev/vdb1', inodes: { total: 65536, free: 0 }, usedBytes: MiB / 2, availBytes: MiB / 2, usedShare: 0.5, pids: [4242, 4243] })]),
    ]);
    expect(s.headline).toBe('openat(2) fails: /var/lib/my data (ext4) is full, 512 KiB of 1.0 MiB used');
    expect(s.findings[0]!.title).toBe('/var/lib/my data (ext4 on /dev/vdb1) is full of inodes');
    expect(s.findings[0]!.detail).toContain('65,536 of 65,536 inodes used. Target processes with files open on it: pid 4242, 4243.');
    expect(s.findings[0]!.next?.commands[1]).toBe("nsenter -t 4242 -m df -i '/var/lib/my data'");
    expect(s.findings.find((f) => f.title.startsWith('write(2)'))!.detail).toContain('on fd 1, closed or replaced after it failed');
  });

  it("blames the target's user for inotify, and warns of another user at its limit", () => {
    const s = summarize([
      errors([row({ syscall: 'inotify_add_watch', comm: 'node' })]),
      watchesOf([user({ focus: false, uid: 1000, userns: 4026532200, processes: [{ pid: 77, comm: 'ide', watches: 10, instances: 1, focus: false }] }), user({})]),
    ]);
    expect(s.headline).toBe('inotify_add_watch(2) fails: uid 0 in user namespace 4026531837 holds 10 inotify watches, limit max_user_watches=10');
    expect(s.findings[0]!.detail).toBe('inotify_add_watch(2) fails with ENOSPC once a user holds its user namespace\'s max_user_watches. No process holding its watches could be read.');
    expect(s.findings.map((f) => f.severity)).toEqual(['critical', 'critical', 'warning']);
    expect(s.findings[2]!.title).toMatch(/^Another user is also at its inotify watch limit: uid 1000/);
  });
});
