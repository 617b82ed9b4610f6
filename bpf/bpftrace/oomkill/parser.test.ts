import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { oomkill } from './manifest.ts';
import { OomkillResult } from './result.ts';
import type { ParseContext } from '../../tool.ts';
import { assertBpf, bpfSuiteName, skipBpf, runProgramBriefly } from '../../../test/helpers/bpf.ts';
import { NO_MORE_CGROUPS, UNUSED_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('oomkill', name);

/** memcg-two-kills.json ran with the workload in cgroup v2 /th-oomkill (id 1127). */
const ctx: ParseContext = { arch: 'x64', cgroupPathOf: (id) => (id === 1127 ? '/th-oomkill' : null) };

const parse = (stdout: string, endAfterMs?: number) => oomkill.parse(stdout, oomkill.params.parse(endAfterMs === undefined ? {} : { endAfterMs }), ctx).result;

const output = (maps: Record<string, Record<string, number>>): string =>
  `{"type": "attached_probes", "data": {"probes": 3}}\n\n\n{"type": "map", "data": {"@complete": 1}}\n` +
  Object.entries(maps)
    .map(([name, value]) => `${JSON.stringify({ type: 'map', data: { [name]: value } })}\n`)
    .join('');

describe('oomkill parser on recorded output', () => {
  it('reads two real OOM kills in a 64 MiB memory cgroup, in order, with the task that triggered them', () => {
    const stdout = fixture('memcg-two-kills.json');
    const result = parse(stdout);
    expect(OomkillResult.parse(result)).toEqual(result);
    const grower = { pid: 31885, tid: 31885, comm: 'th-grow er', cgroupId: 1127, cgroup: '/th-oomkill' };
    // Each kill says where raw.json has it: the @victims line (6), its own entry quoted verbatim.
    const victims = 6;
    expect(stdout.split('\n')[victims - 1]).toContain('"1094,31777,0,43596,41216,1188,0,128,500,th-hold,er": 1');
    expect(result).toEqual({
      kills: [
        // The holder (oom_score_adj 500) is chosen first although the grower's allocation ran into the limit.
        {
          atMs: 1094, pid: 31777, comm: 'th-hold,er', uid: 0, totalVmKb: 43596, anonRssKb: 41216, fileRssKb: 1188,
          shmemRssKb: 0, pgtablesKb: 128, oomScoreAdj: 500, trigger: grower,
          raw: { line: victims, text: '"1094,31777,0,43596,41216,1188,0,128,500,th-hold,er": 1' },
        },
        // Then the grower itself, at the limit: 65280 KiB anonymous memory of the 65536 KiB allowed.
        {
          atMs: 1141, pid: 31885, comm: 'th-grow er', uid: 0, totalVmKb: 68268, anonRssKb: 65280, fileRssKb: 992,
          shmemRssKb: 0, pgtablesKb: 180, oomScoreAdj: 0, trigger: grower,
          raw: { line: victims, text: '"1141,31885,0,68268,65280,992,0,180,0,th-grow er": 1' },
        },
      ],
      total: 2,
      endedEarly: null,
    });
  });

  it('reports no kills when bpftrace printed only the completion marker', () => {
    expect(parse(fixture('no-kills.json'))).toEqual({ kills: [], total: 0, endedEarly: null });
  });
});

describe('oomkill parser edge cases', () => {
  it('reads a negative oom_score_adj and a victim without a trigger entry', () => {
    // bpftrace prints a negative short key part as "-500" (checked with bpftrace 0.17 on an int16 key).
    const result = parse(output({ '@victims': { '5,42,1000,10,20,30,40,50,-500,java': 1 } }));
    expect(result.kills).toEqual([
      {
        atMs: 5, pid: 42, comm: 'java', uid: 1000, totalVmKb: 10, anonRssKb: 20, fileRssKb: 30, shmemRssKb: 40,
        pgtablesKb: 50, oomScoreAdj: -500, trigger: null, raw: { line: 5, text: '"5,42,1000,10,20,30,40,50,-500,java":1' },
      },
    ]);
  });

  it('matches triggers by time and victim, keeps commas in both comms, and counts duplicates', () => {
    const result = parse(
      output({
        '@victims': { '9,2,0,1,1,1,1,1,0,b,c': 1, '9,1,0,1,1,1,1,1,0,a': 2 },
        '@triggers': { '9,2,7,8,0,x,y': 1, '9,1,3,3,1127,z': 1, '8,2,5,5,0,old': 1 },
      }),
    );
    expect(result.kills.map((k) => [k.pid, k.comm, k.trigger])).toEqual([
      [1, 'a', { pid: 3, tid: 3, comm: 'z', cgroupId: 1127, cgroup: '/th-oomkill' }],
      [2, 'b,c', { pid: 7, tid: 8, comm: 'x,y', cgroupId: 0, cgroup: null }],
    ]);
    expect(result.total).toBe(3);
  });

  it('is empty for empty output and refuses truncated output and malformed keys', () => {
    expect(parse('')).toEqual({ kills: [], total: 0, endedEarly: null });
    expect(() => parse(fixture('memcg-two-kills.json').slice(0, -40))).toThrow(/line 6 is not JSON/);
    expect(() => parse(output({ '@victims': { '5,42,1000,10,20,30,40,50,java': 1 } }))).toThrow(/unexpected @victims key/);
    expect(() => parse(output({ '@triggers': { '5,42,1,1,java': 1 } }))).toThrow(/unexpected @triggers key/);
  });
});

describe('oomkill early end', () => {
  it('says it ended by itself after the first kill, and when', () => {
    const result = parse(`${fixture('memcg-two-kills.json')}{"type": "map", "data": {"@ended": 3141}}\n`, 2000);
    expect(result.total).toBe(2);
    expect(result.endedEarly).toEqual({
      atMs: 3141,
      reason: 'ended by itself 2s after the first OOM kill, 3s into the window: it had seen what it was waiting for',
    });
  });

  it('refuses an @ended that is not a time', () => {
    expect(() => parse(output({ '@victims': {} }) + '{"type": "map", "data": {"@ended": "x"}}\n', 2000)).toThrow(/unexpected @ended/);
  });
});

describe('oomkill manifest', () => {
  const none = {};
  it('takes how long after the first kill to end, never by default', () => {
    expect(oomkill.params.parse({})).toEqual({});
    expect(oomkill.params.parse({ endAfterMs: 2000 })).toEqual({ endAfterMs: 2000 });
    expect(oomkill.params.safeParse({ endAfterMs: -1 }).success).toBe(false);
    expect(oomkill.params.safeParse({ endAfterMs: 1.5 }).success).toBe(false);
    expect(oomkill.params.safeParse({ pid: 1 }).success).toBe(false);
  });

  it('passes cgroup ids, pid and the end-after as numbers', () => {
    expect(oomkill.args(none, { cgroupIds: [1127], pid: 0 })).toEqual(['1127', '0', ...NO_MORE_CGROUPS, '0']);
    expect(oomkill.args({ endAfterMs: 2000 }, { cgroupIds: [], pid: 31885 })).toEqual(['0', '31885', ...NO_MORE_CGROUPS, '2000']);
    expect(() => oomkill.args(none, { cgroupIds: [], pid: -1 })).toThrow(/pid/);
    // Several cgroups (the containers of the target pods): the first keeps its place, the others go before the end-after.
    expect(oomkill.args(none, { cgroupIds: [63, 64], pid: 0 })).toEqual(['63', '0', '64', '0', '0', '0', '0', '0', '0', '0']);
    expect(() => oomkill.args(none, { cgroupIds: [1, 2, 3, 4, 5, 6, 7, 8, 9], pid: 0 })).toThrow(/at most 8 cgroup ids/);
  });

  it('points at its program and declares what it needs', () => {
    expect(readFileSync(oomkill.programFile, 'utf8')).toContain('tracepoint:oom:mark_victim');
    expect(oomkill.requires).toEqual([{ kind: 'bpftrace' }, { kind: 'tracepoint', name: 'oom/mark_victim' }]);
    expect(oomkill.limits).toEqual({ minDurationMs: 1000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 1024 * 1024, stopGraceMs: 2_000 });
  });
});

describe.skipIf(skipBpf)(bpfSuiteName('oomkill program'), () => {
  beforeAll(() => assertBpf());

  it('loads and prints the completion marker', async () => {
    const run = await runProgramBriefly(oomkill, oomkill.args({ endAfterMs: 1000 }, UNUSED_CGROUPS));
    expect(run.stdout, run.stderr).toContain('"attached_probes"');
    // No kill, so no early end: the window (here SIGINT) ends it.
    expect(parse(run.stdout, 1000)).toEqual({ kills: [], total: 0, endedEarly: null });
  });
});
