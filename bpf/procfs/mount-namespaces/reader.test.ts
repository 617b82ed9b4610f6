import { describe, expect, it } from 'vitest';
import { parseMountinfo } from '../procfs.ts';
import { describeNamespace, isNearLimit, listNamespaces, repeatedMounts, wantsAnalysis, type CountedNamespace } from './reader.ts';

const line = (id: number, dev: string, root: string, mountPoint: string, fsType: string, source: string) =>
  `${id} 1 ${dev} ${root} ${mountPoint} rw,relatime shared:1 - ${fsType} ${source} rw`;

/** A namespace leaking bind mounts of /srv/data onto two mount points, beside ordinary mounts. */
const LEAKY = [
  line(1, '8:1', '/', '/', 'ext4', '/dev/vda1'),
  line(2, '0:22', '/', '/proc', 'proc', 'proc'),
  ...Array.from({ length: 5 }, (_, i) => line(10 + i, '8:2', '/srv/data', '/mnt/a', 'ext4', '/dev/vdb')),
  ...Array.from({ length: 3 }, (_, i) => line(20 + i, '8:2', '/srv/data', '/mnt/b', 'ext4', '/dev/vdb')),
  line(30, '8:2', '/srv/other', '/mnt/c', 'ext4', '/dev/vdb'),
  line(31, '0:40', '/', '/run/x', 'tmpfs', 'tmpfs'),
  line(32, '0:41', '/', '/run/y', 'tmpfs', 'tmpfs'),
].join('\n');

function counted(ns: number, mounts: number, focusPids: number[] = [], pid = ns * 10): CountedNamespace {
  return { ns, pids: [...focusPids, pid], focusPids, readPid: focusPids[0] ?? pid, mounts };
}

describe('mount-namespaces: per-namespace facts', () => {
  it('repeated mount points and sources of one namespace: more than once only, most first, sources keyed with their root', () => {
    expect(repeatedMounts(parseMountinfo(LEAKY))).toEqual({
      repeated: [
        { mountPoint: '/mnt/a', count: 5 },
        { mountPoint: '/mnt/b', count: 3 },
      ],
      repeatedSources: [
        { source: '/dev/vdb', root: '/srv/data', count: 8 },
        { source: 'tmpfs', root: '/', count: 2 },
      ],
    });
  });

  it('at most 10 of each, ties by name', () => {
    const text = Array.from({ length: 12 }, (_, i) => [0, 1].map((k) => line(i * 2 + k, `0:${i}`, '/', `/m${String(i).padStart(2, '0')}`, 'tmpfs', `src${i}`))).flat();
    const r = repeatedMounts(parseMountinfo(text.join('\n')));
    expect(r.repeated).toHaveLength(10);
    expect(r.repeated.map((m) => m.mountPoint)).toEqual(Array.from({ length: 10 }, (_, i) => `/m${String(i).padStart(2, '0')}`));
    expect(r.repeatedSources).toHaveLength(10);
  });

  it('near the limit from 90 % of fs.mount-max; never without one', () => {
    expect(isNearLimit(90, 100)).toBe(true);
    expect(isNearLimit(89, 100)).toBe(false);
    expect(isNearLimit(1_000_000, null)).toBe(false);
  });

  it('lists every focus namespace first, then the 20 with the most mounts', () => {
    const many = Array.from({ length: 30 }, (_, i) => counted(100 + i, 1000 - i));
    const small = counted(7, 3, [4242]);
    const order = listNamespaces([...many, small, counted(8, 995, [4243])]).map((c) => c.ns);
    expect(order.slice(0, 2)).toEqual([8, 7]);
    expect(order.slice(2)).toEqual(Array.from({ length: 19 }, (_, i) => 100 + i)); // 8 is one of the top 20 itself
  });

  it('analyses focus namespaces, those near the limit and, with no focus, the largest; no other', () => {
    expect(wantsAnalysis(counted(1, 5, [42]), 100, false)).toBe(true);
    expect(wantsAnalysis(counted(1, 95), 100, false)).toBe(true);
    expect(wantsAnalysis(counted(1, 5), null, true)).toBe(true);
    expect(wantsAnalysis(counted(1, 89), 100, false)).toBe(false);
    expect(wantsAnalysis(counted(1, 89), null, false)).toBe(false);
  });

  it('describes a namespace with its own repeated mounts, its focus pids (at most 20) and the named process', () => {
    const focusPids = Array.from({ length: 25 }, (_, i) => 4000 + i);
    const c = counted(9, 11, focusPids);
    const entry = describeNamespace(c, 12, { pid: 4000, comm: 'app' }, LEAKY);
    expect(entry).toMatchObject({ ns: 9, pid: 4000, comm: 'app', processes: 26, mounts: 11, usedShare: 0.9167, nearLimit: true, focus: true });
    expect(entry.focusPids).toEqual(focusPids.slice(0, 20));
    expect(entry.repeated[0]).toEqual({ mountPoint: '/mnt/a', count: 5 });
    const unanalysed = describeNamespace(counted(5, 11), null, { pid: 50, comm: 'x' }, null);
    expect(unanalysed).toMatchObject({ usedShare: null, nearLimit: false, focus: false, focusPids: [], repeated: [], repeatedSources: [] });
  });
});
