import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cachestat } from './manifest.ts';
import { cacheCounts, parseCachestat } from './parser.ts';
import { CachestatResult } from './result.ts';
import { toolFixture } from '../../../test/helpers/recordings.ts';

const output = (maps: Record<string, unknown>) =>
  [JSON.stringify({ type: 'attached_probes', data: { probes: 5 } }), '', ...Object.entries(maps).map(([k, v]) => JSON.stringify({ type: 'map', data: { [k]: v } }))].join('\n') + '\n';

describe('cachestat arithmetic (bcc tools/cachestat.py)', () => {
  it('subtracts buffer dirtying from accesses and additions, floors at 0, and caps misses at accesses', () => {
    expect(cacheCounts({ accessed: 110, added: 30, dirtied: 7, buffers: 10 })).toEqual({
      hits: 80, misses: 20, dirties: 7, hitRatio: 0.8, raw: { accessed: 110, added: 30, dirtied: 7, buffers: 10 },
    });
    // More added than accessed (readahead beyond what was read): every access was a miss.
    expect(cacheCounts({ accessed: 5, added: 9, dirtied: 0, buffers: 0 })).toMatchObject({ hits: 0, misses: 5, hitRatio: 0 });
    expect(cacheCounts({ accessed: 3, added: 1, dirtied: 0, buffers: 4 })).toMatchObject({ hits: 0, misses: 0, hitRatio: null });
    expect(cacheCounts({ accessed: 3, added: 0, dirtied: 0, buffers: 0 }).hitRatio).toBe(1);
    expect(cacheCounts({ accessed: 3, added: 1, dirtied: 0, buffers: 0 }).hitRatio).toBe(0.6667);
  });
});

/** The recording's phase log (cache-load.py): "phase pid start end", one line per forked child. */
const phases = () =>
  toolFixture('cachestat', 'ext4-rounds.phases.txt').trim().split('\n').map((l) => l.split(' ')).map(([name, pid]) => ({ name, pid: Number(pid) }));

describe('cachestat parser on recorded output', () => {
  it('reads rounds of write, cold read and warm read of 16 MiB on ext4 (Debian 13, 6.12)', () => {
    const result = parseCachestat(toolFixture('cachestat', 'ext4-rounds.json'), 1000);
    expect(CachestatResult.parse(result)).toEqual(result);
    const of = (pid: number) => result.processes.find((p) => p.pid === pid);
    const logged = phases();
    expect(logged.map((p) => p.name).slice(0, 3)).toEqual(['write', 'cold', 'warm']);
    // The first round started before the probes attached; rounds 2-9 ran whole (pids 298-321).
    for (const { name, pid } of logged.filter((p) => p.pid >= 298)) {
      const p = of(pid)!;
      if (name === 'write') {
        // 16 MiB = 4096 pages dirtied; on this 1 KiB-block ext4 each page dirties 4 buffers, which cancel the
        // writer's own additions and accesses in cachestat's arithmetic.
        expect([p.dirties, p.raw.buffers, p.hits, p.misses, p.hitRatio]).toEqual([4096, 16384, 0, 0, null]);
        expect(p.raw.added).toBeGreaterThanOrEqual(4096); // 4097 once: a directory block, most likely
      } else if (name === 'cold') {
        expect([p.misses, p.raw.added, p.dirties]).toEqual([4096, 4096, 0]);
        expect(p.hitRatio).toBeLessThan(0.15);
      } else {
        expect([p.misses, p.dirties, p.hitRatio]).toEqual([0, 0, 1]);
        expect(p.hits).toBeGreaterThanOrEqual(4729);
      }
    }
    // The total keeps each process's buffers to itself: the readers' 9 × 4096 misses (and a few of the first round
    // and the parent) survive, where bcc's arithmetic over the summed counters would give 0 hits and 0 misses.
    expect(result.total.raw).toEqual({ accessed: 95567, added: 77828, dirtied: 40960, buffers: 163840 });
    expect(cacheCounts(result.total.raw)).toMatchObject({ hits: 0, misses: 0 });
    expect(result.total.misses).toBe(9 * 4096 + 1);
    expect(result.total.hitRatio).toBeGreaterThan(0.5);
    expect(result.total.dirties).toBe(40960);
    // Seconds 0-6 (@seconds 6); the per-second rows use cachestat's arithmetic on that second's counters.
    expect(result.intervals.map((i) => i.second)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(result.intervals[1]?.raw).toEqual({ accessed: 11857, added: 13110, dirtied: 8192, buffers: 32768 });
    // The workload's shell before its exec (bash), the parent (python3), and 28 forked phases.
    expect(result.distinctProcesses).toBe(30);
  });

  it('reads the same workload on Debian 12, 6.1: the same per-phase counts', () => {
    const result = parseCachestat(toolFixture('cachestat', 'ext4-rounds-6.1.json'), 1000);
    const logged = toolFixture('cachestat', 'ext4-rounds-6.1.phases.txt').trim().split('\n').map((l) => l.split(' '));
    const of = (pid: number) => result.processes.find((p) => p.pid === pid)!;
    // Rounds from pid 183 on ran whole (the first one started before the probes attached; the last was cut short).
    for (const [name, pid] of logged.filter(([, pid]) => Number(pid) >= 183 && Number(pid) <= 197)) {
      const p = of(Number(pid));
      if (name === 'write') expect([p.dirties, p.raw.buffers, p.hits, p.misses]).toEqual([4096, 16384, 0, 0]);
      else if (name === 'cold') expect([p.misses, p.raw.added, p.raw.accessed]).toEqual([4096, 4096, 4744]);
      else expect([p.misses, p.hitRatio, p.hits]).toEqual([0, 1, 4743]);
    }
    expect(result.total.misses).toBeGreaterThanOrEqual(6 * 4096);
  });
});

describe('cachestat parser edge cases', () => {
  it('fills quiet seconds with zeros up to the capture length, and sums per process', () => {
    const result = parseCachestat(
      output({
        '@accessed': { '0': 10, '2': 4 },
        '@added': { '0': 5 },
        '@dirtied': { '2': 3 },
        '@accessed_by': { '7,cat': 10, '8,a,b': 4 },
        '@added_by': { '7,cat': 5 },
        '@dirtied_by': { '8,a,b': 3 },
        '@complete': 1,
        '@seconds': 3,
      }),
      20,
    );
    expect(CachestatResult.parse(result)).toEqual(result);
    expect(result.intervals.map((i) => [i.second, i.hits, i.misses, i.dirties])).toEqual([[0, 5, 5, 0], [1, 0, 0, 0], [2, 4, 0, 3], [3, 0, 0, 0]]);
    // The total sums per process: cat 5 hits + 5 misses, "a,b" 4 hits.
    expect(result.total).toMatchObject({ hits: 9, misses: 5, dirties: 3, hitRatio: 0.6429 });
    expect(result.processes.map((p) => [p.pid, p.comm, p.hits, p.misses, p.dirties])).toEqual([[7, 'cat', 5, 5, 0], [8, 'a,b', 4, 0, 3]]);
    expect(parseCachestat(output({ '@accessed_by': { '7,cat': 1, '8,x': 2 } }), 1).processes.map((p) => p.pid)).toEqual([8]);
  });

  it('refuses malformed keys and truncated output, and is empty without events', () => {
    expect(() => parseCachestat(output({ '@added': { x: 1 } }), 20)).toThrow(/expected a second/);
    expect(() => parseCachestat(output({ '@added_by': { x: 1 } }), 20)).toThrow(/expected "pid,comm"/);
    expect(() => parseCachestat(output({ '@added': { '0': 1 } }).slice(0, -5), 20)).toThrow(/not JSON/);
    expect(parseCachestat(output({ '@complete': 1, '@seconds': 0 }), 20)).toEqual({
      intervals: [{ second: 0, hits: 0, misses: 0, dirties: 0, hitRatio: null, raw: { accessed: 0, added: 0, dirtied: 0, buffers: 0 } }],
      total: { hits: 0, misses: 0, dirties: 0, hitRatio: null, raw: { accessed: 0, added: 0, dirtied: 0, buffers: 0 } },
      processes: [],
      distinctProcesses: 0,
    });
  });
});

describe('cachestat manifest', () => {
  it('validates params strictly and passes only the scope', () => {
    expect(cachestat.params.parse({})).toEqual({ maxProcesses: 20 });
    expect(cachestat.params.safeParse({ maxProcesses: 0 }).success).toBe(false);
    expect(cachestat.params.safeParse({ interval: 1 }).success).toBe(false);
    expect(cachestat.args({ maxProcesses: 20 }, { cgroupIds: [63], pid: 9 })).toEqual(['63', '9', '0', '0', '0', '0', '0', '0', '0']);
  });

  it('has one kprobe variant on the folio functions, gated on kernel 5.16', () => {
    expect(cachestat.variants).toHaveLength(1);
    const [v] = cachestat.variants;
    expect(v?.name).toBe('kprobe');
    expect(v?.programFile).toBe(cachestat.programFile);
    expect(v?.requires).toEqual([
      { kind: 'kernel', min: '5.16' },
      { kind: 'kprobe', function: 'folio_mark_accessed' },
      { kind: 'kprobe', function: 'filemap_add_folio' },
      { kind: 'kprobe', function: '__folio_mark_dirty' },
      { kind: 'kprobe', function: 'mark_buffer_dirty' },
    ]);
    const program = readFileSync(cachestat.programFile, 'utf8');
    for (const fn of ['folio_mark_accessed', 'filemap_add_folio', '__folio_mark_dirty', 'mark_buffer_dirty']) expect(program).toContain(`kprobe:${fn}\n`);
  });
});

