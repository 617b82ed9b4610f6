import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { runqlat } from './manifest.ts';
import { RunqlatResult } from './result.ts';
import type { ParseContext } from '../../tool.ts';
import { NO_MORE_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { recordingContext, toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('runqlat', name);

/** Each recording re-created the test cgroup /fixture-rq, so it had another id each time (see fixtures/README.md). */
const TEST_CGROUP_IDS = [424, 443, 462, 481];

const context = () => recordingContext({ ...Object.fromEntries(TEST_CGROUP_IDS.map((id) => [id, '/fixture-rq'])), 1: '/' });

const parse = (stdout: string, ctx: ParseContext = context()) => runqlat.parse(stdout, runqlat.params.parse({}), ctx);

const histLine = (data: Record<string, { min: number; max: number; count: number }[]>): string =>
  `{"type": "attached_probes", "data": {"probes": 4}}\n\n\n{"type": "map", "data": {"@complete": 1}}\n` +
  `${JSON.stringify({ type: 'hist', data: { '@usecs': data } })}\n`;

describe('runqlat parser on recorded output', () => {
  it('reads the test cgroup of the CPU-hog run: two busy loops sharing 2 CPUs with a third one outside', () => {
    const { result, extraArtifacts } = parse(fixture('hogs-cgroup.json'));
    expect(extraArtifacts).toEqual([]);
    expect(result.unit).toBe('us');
    expect(result.cgroups).toHaveLength(1);
    const [cg] = result.cgroups;
    expect(cg).toMatchObject({
      cgroupId: 424, cgroup: '/fixture-rq', pod: null,
      count: 798, p50: 2861.2, p90: 4052, p99: 14640.3, mean: 2985.4, maxBucket: { low: 32768, high: 65535 },
    });
    // Waiting behind the other loops for a time slice: 549 of the 798 delays were 2-4 ms.
    expect(cg?.buckets).toHaveLength(14);
    expect(cg?.buckets[0]).toEqual({ low: 4, high: 7, count: 14 });
    expect(cg?.buckets[9]).toEqual({ low: 2048, high: 4095, count: 549 });
    const { cgroupId: _id, cgroup: _path, pod: _pod, ...summary } = cg ?? { cgroupId: 0, cgroup: null, pod: null };
    expect(result.all).toEqual(summary);
    expect(RunqlatResult.parse(result)).toEqual(result);
  });

  it('attributes delays node-wide to the cgroup of the task that waited', () => {
    const ctx = context();
    const { result } = parse(fixture('hogs-node.json'), ctx);
    expect(result.cgroups.map((c) => [c.cgroupId, c.cgroup, c.count, c.p50, c.p90, c.p99, c.mean])).toEqual([
      // The test cgroup's two loops wait milliseconds; the root cgroup mixes the third loop with short waits.
      [443, '/fixture-rq', 742, 3817.1, 12504.4, 49443.3, 6022.4],
      [1, '/', 3485, 59.7, 6854.8, 18061.4, 2436.1],
    ]);
    expect(result.cgroups[0]?.maxBucket).toEqual({ low: 65536, high: 131071 });
    expect(result.cgroups[1]?.maxBucket).toEqual({ low: 131072, high: 262143 });
    expect(result.all).toMatchObject({ count: 4227, p50: 783, p90: 7670.4, p99: 25683.2, mean: 3065.6, maxBucket: { low: 131072, high: 262143 } });
    expect(result.all.buckets).toHaveLength(18);
    expect(result.all.buckets[0]).toEqual({ low: 1, high: 1, count: 217 });
    expect(result.all.buckets[11]).toEqual({ low: 2048, high: 4095, count: 257 + 558 });
    expect([...ctx.lookups].sort((a, b) => a - b)).toEqual([1, 443]);
  });

  it('reads a capture filtered to one process', () => {
    const { result } = parse(fixture('hogs-pid.json'));
    expect(result.cgroups).toHaveLength(1);
    expect(result.cgroups[0]).toMatchObject({ cgroupId: 462, count: 336, p50: 5461.3, p90: 8082.8, p99: 15668, mean: 5533 });
  });

  it('reports no samples when bpftrace printed only the completion marker', () => {
    const { result } = parse(fixture('idle-cgroup.json'));
    expect(result).toEqual({
      unit: 'us',
      cgroups: [],
      all: { count: 0, p50: null, p90: null, p99: null, mean: null, maxBucket: null, buckets: [] },
    });
  });
});

describe('runqlat parser edge cases', () => {
  it('sorts by p99, then count, then cgroup id', () => {
    const { result } = parse(
      histLine({
        '7': [{ min: 8, max: 15, count: 1 }],
        '5': [{ min: 8, max: 15, count: 1 }],
        '9': [{ min: 8, max: 15, count: 3 }],
        '3': [{ min: 1024, max: 2047, count: 1 }],
      }),
    );
    expect(result.cgroups.map((c) => c.cgroupId)).toEqual([3, 9, 5, 7]);
    expect(result.cgroups.map((c) => c.cgroup)).toEqual([null, null, null, null]);
    expect(result.all.count).toBe(6);
  });

  it('is empty for empty output', () => {
    expect(parse('').result.cgroups).toEqual([]);
  });

  it('refuses truncated output and malformed keys', () => {
    expect(() => parse(fixture('hogs-cgroup.json').slice(0, -40))).toThrow(/line 5 is not JSON/);
    expect(() => parse(histLine({ 'abc': [{ min: 1, max: 1, count: 1 }] }))).toThrow(/expected a cgroup id/);
    expect(() => parse(histLine({ '1,2': [{ min: 1, max: 1, count: 1 }] }))).toThrow(/expected a cgroup id/);
  });
});

describe('runqlat manifest', () => {
  it('takes no params of its own', () => {
    expect(runqlat.params.parse({})).toEqual({});
    expect(runqlat.params.safeParse({ pid: 1 }).success).toBe(false);
  });

  it('passes cgroup ids and pid as numbers', () => {
    expect(runqlat.args({}, { cgroupIds: [63], pid: 0 })).toEqual(['63', '0', ...NO_MORE_CGROUPS]);
    expect(runqlat.args({}, { cgroupIds: [], pid: 4242 })).toEqual(['0', '4242', ...NO_MORE_CGROUPS]);
    expect(() => runqlat.args({}, { cgroupIds: [-1], pid: 0 })).toThrow(/cgroup id/);
    expect(() => runqlat.args({}, { cgroupIds: [], pid: 1.5 })).toThrow(/pid/);
    // Several cgroups (the containers of the target pods): the first keeps its place, the others go last.
    expect(runqlat.args({}, { cgroupIds: [63, 64], pid: 0 })).toEqual(['63', '0', '64', '0', '0', '0', '0', '0', '0']);
    expect(() => runqlat.args({}, { cgroupIds: [1, 2, 3, 4, 5, 6, 7, 8, 9], pid: 0 })).toThrow(/at most 8 cgroup ids/);
  });

  it('points at its program and declares what it needs', () => {
    const program = readFileSync(runqlat.programFile, 'utf8');
    for (const probe of ['sched:sched_wakeup', 'sched:sched_wakeup_new', 'sched:sched_switch']) expect(program).toContain(`tracepoint:${probe}`);
    expect(program).toContain('@complete = 1');
    expect(runqlat.name).toBe('runqlat');
    expect(runqlat.requires).toEqual([
      { kind: 'bpftrace' },
      { kind: 'tracepoint', name: 'sched/sched_wakeup' },
      { kind: 'tracepoint', name: 'sched/sched_wakeup_new' },
      { kind: 'tracepoint', name: 'sched/sched_switch' },
    ]);
    expect(runqlat.limits).toEqual({ minDurationMs: 1000, maxDurationMs: 60_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 });
  });
});
