import { describe, expect, it } from 'vitest';
import { parseMountinfo } from '../procfs.ts';
import { FilesystemUsageParams } from './manifest.ts';
import { compareFilesystems, locateFiles } from './reader.ts';
import type { FilesystemEntry } from './result.ts';

/** One /proc/<pid>/mountinfo line. */
const line = (id: number, dev: string, root: string, mountPoint: string, fsType: string, source: string) =>
  `${id} 1 ${dev} ${root} ${mountPoint} rw,relatime shared:1 - ${fsType} ${source} rw`;

describe('filesystem-usage: failing files', () => {
  // The same path is on a tmpfs in namespace 1 and on the root filesystem in namespace 2.
  const namespaces = [
    { ns: 1, mounts: parseMountinfo([line(1, '8:1', '/', '/', 'ext4', '/dev/vda1'), line(2, '0:50', '/', '/data', 'tmpfs', 'tmpfs')].join('\n')) },
    { ns: 2, mounts: parseMountinfo(line(1, '8:1', '/', '/', 'ext4', '/dev/vda1')) },
  ];
  const nsOf = (pid: number) => ({ 10: 1, 20: 2, 30: 3 })[pid] ?? null;

  it('locates each file in its own process namespace, keeps paths as given, says why one could not be', () => {
    const { byDev, located } = locateFiles(
      [
        { pid: 10, path: '/data/y' },
        { pid: 20, path: '/data/y' },
        { pid: 10, path: '/data/old (deleted)' },
        { pid: 10, path: '/data/y' },
        { pid: 30, path: '/data/y' },
        { pid: 99, path: '/data/y' },
      ],
      nsOf,
      namespaces,
    );
    expect(Object.fromEntries(byDev)).toEqual({ '0:50': ['/data/y', '/data/old (deleted)'], '8:1': ['/data/y'] });
    expect(located).toEqual([
      { pid: 10, path: '/data/y', ns: 1, mountPoint: '/data', dev: '0:50' },
      { pid: 20, path: '/data/y', ns: 2, mountPoint: '/', dev: '8:1' },
      { pid: 10, path: '/data/old (deleted)', ns: 1, mountPoint: '/data', dev: '0:50' },
      { pid: 10, path: '/data/y', ns: 1, mountPoint: '/data', dev: '0:50' },
      { pid: 30, path: '/data/y', ns: 3, outcome: 'namespace unreadable' },
      { pid: 99, path: '/data/y', ns: null, outcome: 'process gone' },
    ]);
  });

  it('lists at most 10 files per filesystem', () => {
    const files = Array.from({ length: 14 }, (_, i) => ({ pid: 10, path: `/data/f${i}` }));
    expect(locateFiles(files, nsOf, namespaces).byDev.get('0:50')).toEqual(files.slice(0, 10).map((f) => f.path));
  });

  it('orders full with failing files, full, failing files, opened by focus, then the fullest', () => {
    const fs = (mountPoint: string, over: Partial<FilesystemEntry>): FilesystemEntry => ({
      mountPoint,
      fsType: 'tmpfs',
      source: 'tmpfs',
      mountNs: 1,
      dev: '0:1',
      sizeBytes: 100,
      usedBytes: 50,
      availBytes: 50,
      usedShare: 0.5,
      inodes: { total: 10, free: 5 },
      inodesUsedShare: 0.5,
      readOnly: false,
      full: false,
      openedByFocus: false,
      pids: [],
      failingFiles: [],
      ...over,
    });
    const entries = [
      fs('/busy', { usedShare: 0.9 }),
      fs('/opened', { openedByFocus: true }),
      fs('/ro', { readOnly: true, failingFiles: ['/ro/f'] }),
      fs('/a-full', { full: true, usedShare: 1, openedByFocus: true }),
      fs('/z-full', { full: true, usedShare: 1, failingFiles: ['/z-full/y'] }),
    ];
    expect(entries.sort(compareFilesystems).map((e) => e.mountPoint)).toEqual(['/z-full', '/a-full', '/ro', '/opened', '/busy']);
  });

  it('validates files: absolute paths up to PATH_MAX, positive pids, at most 64, nothing else', () => {
    const ok = (files: unknown) => FilesystemUsageParams.safeParse({ pids: [1], files }).success;
    expect(ok([{ pid: 1, path: '/tmp/full/y' }])).toBe(true);
    expect(ok([{ pid: 1, path: `/${'a'.repeat(4095)}` }])).toBe(true);
    expect(ok([{ pid: 1, path: `/${'a'.repeat(4096)}` }])).toBe(false);
    expect(ok([{ pid: 1, path: 'tmp/full/y' }])).toBe(false);
    expect(ok([{ pid: 1, path: 'pipe:[123]' }])).toBe(false);
    expect(ok([{ pid: 1, path: '/tmp/a\0b' }])).toBe(false);
    expect(ok([{ pid: 0, path: '/x' }])).toBe(false);
    expect(ok([{ pid: 5_000_000, path: '/x' }])).toBe(false);
    expect(ok([{ pid: 1, path: '/x', fd: 3 }])).toBe(false);
    expect(ok(Array.from({ length: 64 }, (_, i) => ({ pid: i + 1, path: '/x' })))).toBe(true);
    expect(ok(Array.from({ length: 65 }, (_, i) => ({ pid: i + 1, path: '/x' })))).toBe(false);
    const bad = FilesystemUsageParams.safeParse({ files: [{ pid: 1, path: 'rel' }] });
    expect(bad.success ? [] : bad.error.issues.map((i) => i.path.join('.'))).toEqual(['files.0.path']);
  });
});
