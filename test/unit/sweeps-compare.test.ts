import { describe, expect, it } from 'vitest';
import { parseBiolatency } from '../../bpf/bpftrace/biolatency/parser.ts';
import { BiolatencyResult } from '../../bpf/bpftrace/biolatency/result.ts';
import { oomkill } from '../../bpf/bpftrace/oomkill/manifest.ts';
import { OomkillResult } from '../../bpf/bpftrace/oomkill/result.ts';
import { runqlat } from '../../bpf/bpftrace/runqlat/manifest.ts';
import { RunqlatResult } from '../../bpf/bpftrace/runqlat/result.ts';
import { syscount } from '../../bpf/bpftrace/syscount/manifest.ts';
import { tcpretrans } from '../../bpf/bpftrace/tcpretrans/manifest.ts';
import { TcpretransResult } from '../../bpf/bpftrace/tcpretrans/result.ts';
import type { ParseContext } from '../../bpf/tool.ts';
import { Investigation, type Step, type StepStatus } from '../../src/core/investigation.ts';
import { median } from '../../src/sweeps/baseline.ts';
import { type SweepCompareOptions, SweepComparison, compareSweep, comparisonFindings } from '../../src/sweeps/compare.ts';
import { formatMicros, riseWord } from '../../src/sweeps/wording.ts';
import { SyscountResult } from '../../bpf/bpftrace/syscount/result.ts';
import { toolFixture } from '../helpers/recordings.ts';

// ---- results: the tools' parsers on their recorded fixtures, with the one figure a test is about set ----

const fixture = toolFixture;
const ctx: ParseContext = { arch: 'x64', cgroupPathOf: (id) => (id === 1 ? '/' : `/fixture-${id}`) };
const vdaOnly = (major: number, minor: number) => (major === 254 && minor === 0 ? 'vda' : null);

const RECORDED = {
  syscount: syscount.parse(fixture('syscount', 'unfiltered.json'), {}, ctx).result,
  runq: runqlat.parse(fixture('runqlat', 'hogs-node.json'), {}, ctx).result,
  io: parseBiolatency(fixture('biolatency', 'dd-node.json'), vdaOnly),
  ioEnospc: parseBiolatency(fixture('biolatency', 'loop-enospc.json'), vdaOnly),
  retrans: tcpretrans.parse(fixture('tcpretrans', 'loopback-cgroup.json'), { maxFlows: 50 }, ctx).result,
  kills: oomkill.parse(fixture('oomkill', 'memcg-two-kills.json'), {}, ctx).result,
};

/** The recorded node-wide run-queue histogram, with its overall p99 set to `p99` µs. */
const runq = (p99: number | null): RunqlatResult => RunqlatResult.parse({ ...RECORDED.runq, all: { ...RECORDED.runq.all, p99 } });

/** The recorded unfiltered failures plus one process failing `count` times per extra pair. */
function syscalls(extra: Record<string, number> = {}): SyscountResult {
  const rows = [
    ...RECORDED.syscount.rows,
    ...Object.entries(extra).map(([pair, count]) => {
      const [syscall = '', errno = ''] = pair.split(' ');
      return { syscall, errno, comm: 'app', pid: 4242, cgroupId: 7001, cgroup: '/kubepods/burstable/pod-a/ctr-1', pod: null, count };
    }),
  ];
  return SyscountResult.parse({ rows, totalEvents: rows.reduce((sum, r) => sum + r.count, 0) });
}

/** The recorded vda rows, with the p99 (µs) and errors of some device/op rows set. */
function io(set: Record<string, { p99?: number; errors?: number }> = {}, base: BiolatencyResult = RECORDED.io): BiolatencyResult {
  const rows = base.rows.map((r) => {
    const s = set[`${r.device ?? `${r.major}:${r.minor}`} ${r.op}`];
    return s ? { ...r, ...s } : r;
  });
  return BiolatencyResult.parse({ ...base, rows, totalErrors: rows.reduce((sum, r) => sum + r.errors, 0) });
}

const retrans = (total: number): TcpretransResult => TcpretransResult.parse({ ...RECORDED.retrans, total, ...(total === 0 ? { flows: [], distinctFlows: 0, byState: [] } : {}) });

const kills = (n: number): OomkillResult => {
  const [first, second] = RECORDED.kills.kills;
  const victims = Array.from({ length: n }, (_, i) => ({ ...((i % 2 === 0 ? first : second) ?? {}), atMs: 1000 + i * 50 }));
  return OomkillResult.parse({ kills: victims, total: n });
};

// ---- investigations ----

type Outcome<R> = R | { status: Exclude<StepStatus, 'succeeded'>; reason?: string };
interface NodeSpec {
  errors: Outcome<SyscountResult>;
  runq: Outcome<RunqlatResult>;
  io: Outcome<BiolatencyResult>;
  retrans: Outcome<TcpretransResult>;
  kills: Outcome<OomkillResult>;
}

const TOOLS = { errors: 'syscount', runq: 'runqlat', io: 'biolatency', retrans: 'tcpretrans', kills: 'oomkill' } as const;

/** What a quiet node of this fleet usually shows. */
const usual = (): NodeSpec => ({ errors: syscalls(), runq: runq(800), io: io(), retrans: retrans(0), kills: kills(0) });

function stepsOf(node: string, spec: Partial<NodeSpec>): Step[] {
  const full = { ...usual(), ...spec };
  return (Object.keys(TOOLS) as (keyof typeof TOOLS)[]).map((id): Step => {
    const outcome: unknown = full[id];
    const failed = typeof outcome === 'object' && outcome !== null && 'status' in outcome ? (outcome as { status: StepStatus; reason?: string }) : null;
    return failed
      ? { id, tool: TOOLS[id], node, status: failed.status, artifacts: [], ...(failed.reason ? { reason: failed.reason } : {}) }
      : { id, tool: TOOLS[id], node, status: 'succeeded', result: outcome, artifacts: [`${id}/${node}/result.json`] };
  });
}

let clock = 0;
/** One firing of the schedule; nodes map to what differs from `usual()`. */
function sweep(id: string, nodes: Record<string, Partial<NodeSpec>>): Investigation {
  clock += 1;
  const at = new Date(Date.UTC(2026, 10, 26, clock)).toISOString();
  return Investigation.parse({
    id, status: 'succeeded', playbook: 'health-sweep', params: { duration: 3000 }, createdAt: at, finishedAt: at, schedule: 'hourly-sweep',
    requestedBy: 'schedule:hourly-sweep', steps: Object.entries(nodes).flatMap(([node, spec]) => stepsOf(node, spec)), artifacts: [],
  });
}

/** Three previous sweeps of one node (newest first), each from its own spec. */
const history = (...specs: Partial<NodeSpec>[]) => specs.map((spec, i) => sweep(`prev-${i}`, { 'node-1': spec }));

const titles = (current: Investigation, previous: Investigation[], opts?: Partial<SweepCompareOptions>) =>
  comparisonFindings(compareSweep(current, previous, opts)).map((f) => f.title);

const SKIPPED = { status: 'skipped', reason: 'node lacks tracepoint sched/sched_switch' } as const;

// ---- tests ----

describe('the first sweep of a schedule', () => {
  it('records the baseline and says so, once', () => {
    const current = sweep('sweep-1', { 'node-1': {}, 'node-2': { kills: kills(2) }, 'node-3': { errors: { status: 'failed' }, runq: { status: 'failed' }, io: { status: 'failed' }, retrans: { status: 'failed' }, kills: { status: 'failed' } } });
    const c = compareSweep(current, []);
    expect(c.changes.map((x) => x.kind)).toEqual(['first-sweep']);
    expect(comparisonFindings(c)).toEqual([
      {
        severity: 'info',
        title: 'First sweep of this schedule: baseline recorded',
        detail: 'Recorded the figures of 2 nodes (node-1, node-2); later sweeps of this schedule are compared with them. No figures from node-3.',
        confidence: { level: 'high', reason: 'what this sweep itself saw of the nodes' },
        evidence: [],
      },
    ]);
  });
});

describe('a sweep like the ones before', () => {
  it('flags nothing', () => {
    const previous = [sweep('p0', { 'node-1': {}, 'node-2': {} }), sweep('p1', { 'node-1': {}, 'node-2': {} }), sweep('p2', { 'node-1': {}, 'node-2': {} })];
    const c = compareSweep(sweep('now', { 'node-1': {}, 'node-2': {} }), previous);
    expect(c.changes).toEqual([]);
    expect(comparisonFindings(c)).toEqual([]);
    expect(c.nodes.map((n) => [n.node, n.presence])).toEqual([['node-1', 'answered'], ['node-2', 'answered']]);
  });
});

describe('run-queue p99', () => {
  const base = () => history({ runq: runq(1000) }, { runq: runq(1000) }, { runq: runq(1000) });

  it('is flagged from 2× the baseline, with "doubled" wording, and not just under', () => {
    expect(titles(sweep('now', { 'node-1': { runq: runq(1999.9) } }), base())).toEqual([]);
    const c = compareSweep(sweep('now', { 'node-1': { runq: runq(2000) } }), base());
    expect(comparisonFindings(c)).toEqual([
      {
        severity: 'warning',
        title: 'Run-queue p99 doubled on node-1: 1 ms → 2 ms',
        detail: 'Baseline 1 ms (median of the 3 of 3 previous sweeps that measured it on node-1); now 2 ms, 2× the baseline. Flagged at 2× the baseline or more and above 1 ms.',
        confidence: { level: 'medium', reason: 'compared with the median of 3 earlier sweeps' },
        evidence: [{ artifact: 'runq/node-1/result.json' }],
      },
    ]);
    expect(c.changes).toEqual([
      { kind: 'runq-p99', severity: 'warning', node: 'node-1', subject: null, current: 2000, baseline: 1000, baselineSweeps: 3, recovered: null, steps: ['runq'] },
    ]);
  });

  it('must also be above the floor (1000 µs by default)', () => {
    const low = history({ runq: runq(400) }, { runq: runq(400) }, { runq: runq(400) });
    expect(titles(sweep('now', { 'node-1': { runq: runq(1000) } }), low)).toEqual([]);
    expect(titles(sweep('now', { 'node-1': { runq: runq(1000.1) } }), low)).toEqual(['Run-queue p99 doubled on node-1: 400 µs → 1 ms']);
    expect(titles(sweep('now', { 'node-1': { runq: runq(1000.1) } }), low, { runqFloorUs: 1500 })).toEqual([]);
  });

  it('follows the ratio option', () => {
    expect(titles(sweep('now', { 'node-1': { runq: runq(2999) } }), base(), { ratio: 3 })).toEqual([]);
    expect(titles(sweep('now', { 'node-1': { runq: runq(3000) } }), base(), { ratio: 3 })).toEqual(['Run-queue p99 rose 3× on node-1: 1 ms → 3 ms']);
  });

  it('takes the median of the previous sweeps, so one outlier does not hide a rise', () => {
    // The mean of these (17.3 ms) would make 2.3 ms look fine.
    const previous = history({ runq: runq(900) }, { runq: runq(50_000) }, { runq: runq(1100) });
    const c = compareSweep(sweep('now', { 'node-1': { runq: runq(2300) } }), previous);
    expect(c.changes.map((x) => [x.kind, x.baseline, x.current])).toEqual([['runq-p99', 1100, 2300]]);
    expect(c.nodes[0]?.baseline.runqP99).toEqual({ value: 1100, sweeps: 3 });
    expect(titles(sweep('now', { 'node-1': { runq: runq(2199) } }), previous)).toEqual([]);
  });

  it('takes its baseline only from the sweeps that measured it, and needs one', () => {
    const oneMeasured = history({ runq: SKIPPED }, { runq: { status: 'failed', reason: 'timed out' } }, { runq: runq(1000) });
    const c = compareSweep(sweep('now', { 'node-1': { runq: runq(2500) } }), oneMeasured);
    expect(comparisonFindings(c).map((f) => f.detail)).toEqual([
      'Baseline 1 ms (median of the 1 of 3 previous sweeps that measured it on node-1); now 2.5 ms, 2.5× the baseline. Flagged at 2× the baseline or more and above 1 ms.',
    ]);
    const noneMeasured = history({ runq: SKIPPED }, { runq: SKIPPED }, { runq: SKIPPED });
    expect(titles(sweep('now', { 'node-1': { runq: runq(50_000) } }), noneMeasured)).toEqual([]);
  });

  it('is not compared when not measured now, nor when measured without any wait', () => {
    const previous = base();
    expect(titles(sweep('now', { 'node-1': { runq: SKIPPED } }), previous)).toEqual([]);
    expect(titles(sweep('now', { 'node-1': { runq: runq(null) } }), previous)).toEqual([]);
    // A measured sweep without waits is not a baseline of 0 either.
    const noWaits = history({ runq: runq(null) }, { runq: runq(null) }, { runq: runq(1000) });
    expect(compareSweep(sweep('now', { 'node-1': { runq: runq(2000) } }), noWaits).changes.map((x) => [x.baseline, x.baselineSweeps])).toEqual([[1000, 1]]);
  });

  it('averages the middle two of an even number of sweeps', () => {
    expect(median([1000, 3000])).toBe(2000);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([])).toBeUndefined();
    const previous = history({ runq: runq(1000) }, { runq: runq(3000) });
    expect(titles(sweep('now', { 'node-1': { runq: runq(3999) } }), previous)).toEqual([]);
    expect(titles(sweep('now', { 'node-1': { runq: runq(4000) } }), previous)).toEqual(['Run-queue p99 doubled on node-1: 2 ms → 4 ms']);
  });
});

describe('block I/O', () => {
  const withVdaWrite = (p99: number) => ({ io: io({ 'vda write': { p99 } }) });

  it('flags a device and op whose p99 reached 2× the baseline and is above 5 ms', () => {
    const previous = history(withVdaWrite(4000), withVdaWrite(4000), withVdaWrite(4000));
    expect(titles(sweep('now', { 'node-1': withVdaWrite(7999) }), previous)).toEqual([]);
    const c = compareSweep(sweep('now', { 'node-1': withVdaWrite(8000) }), previous);
    expect(comparisonFindings(c)).toEqual([
      {
        severity: 'warning',
        title: 'Block I/O p99 of vda write doubled on node-1: 4 ms → 8 ms',
        detail: 'Baseline 4 ms (median of the 3 of 3 previous sweeps that measured it on node-1); now 8 ms, 2× the baseline. Flagged at 2× the baseline or more and above 5 ms.',
        confidence: { level: 'medium', reason: 'compared with the median of 3 earlier sweeps' },
        evidence: [{ artifact: 'io/node-1/result.json' }],
      },
    ]);
  });

  it('needs the p99 above the floor', () => {
    const previous = history(withVdaWrite(2400), withVdaWrite(2500), withVdaWrite(2600));
    expect(titles(sweep('now', { 'node-1': withVdaWrite(5000) }), previous)).toEqual([]);
    expect(titles(sweep('now', { 'node-1': withVdaWrite(5000.1) }), previous)).toEqual(['Block I/O p99 of vda write doubled on node-1: 2.5 ms → 5 ms']);
  });

  it('does not compare a device and op that no previous sweep saw', () => {
    const previous = history({ io: io({}, RECORDED.ioEnospc) });
    // dd-node has vda read at 1.8 ms as before, and 7:0 read, which loop-enospc never had: not compared.
    const slowLoopRead = io({ '7:0 read': { p99: 90_000 } });
    expect(titles(sweep('now', { 'node-1': { io: slowLoopRead } }), previous)).toEqual([]);
  });

  it('flags block I/O errors that appear, from the recorded ENOSPC on a loop device', () => {
    // Before: the dd run without errors. Now: the loop device on a full tmpfs, one write completed with an error.
    const previous = history({ io: io() }, { io: io() });
    const c = compareSweep(sweep('now', { 'node-1': { io: RECORDED.ioEnospc } }), previous);
    expect(comparisonFindings(c)).toEqual([
      {
        severity: 'warning',
        title: 'New block I/O errors on 7:0 write on node-1: 1 error',
        detail: 'Baseline 0 (median of the 2 of 2 previous sweeps that measured it on node-1); now 1. Flagged at 2× the baseline or more and 1 error more.',
        confidence: { level: 'high', reason: 'the kernel reported these events during the sweep' },
        evidence: [{ artifact: 'io/node-1/result.json' }],
      },
    ]);
    const erring = (errors: number) => ({ io: io({ 'vda write': { errors } }) });
    const someErrors = history(erring(3), erring(3), erring(3));
    expect(titles(sweep('now', { 'node-1': erring(5) }), someErrors)).toEqual([]);
    expect(titles(sweep('now', { 'node-1': erring(6) }), someErrors)).toEqual(['Block I/O errors on vda write doubled on node-1: 3 → 6']);
  });
});

describe('failing syscalls', () => {
  it('flags a syscall+errno pair never seen on the node, critical for resource errnos', () => {
    const previous = history({}, {}, {});
    const c = compareSweep(sweep('now', { 'node-1': { errors: syscalls({ 'openat ENOSPC': 42, 'connect ECONNREFUSED': 3, 'mmap ENOMEM': 1 }) } }), previous);
    expect(comparisonFindings(c)).toEqual([
      {
        severity: 'critical',
        title: 'New failing syscall mmap ENOMEM on node-1: 1 failure',
        detail: 'mmap(2) failed with ENOMEM 1 time in this sweep, and in none of the 3 of 3 previous sweeps that counted failing syscalls on node-1. ENOMEM means a resource ran out.',
        confidence: { level: 'medium', reason: 'compared with the median of 3 earlier sweeps' },
        evidence: [{ artifact: 'errors/node-1/result.json' }],
      },
      {
        severity: 'critical',
        title: 'New failing syscall openat ENOSPC on node-1: 42 failures',
        detail: 'openat(2) failed with ENOSPC 42 times in this sweep, and in none of the 3 of 3 previous sweeps that counted failing syscalls on node-1. ENOSPC means a resource ran out.',
        confidence: { level: 'medium', reason: 'compared with the median of 3 earlier sweeps' },
        evidence: [{ artifact: 'errors/node-1/result.json' }],
      },
      {
        severity: 'warning',
        title: 'New failing syscall connect ECONNREFUSED on node-1: 3 failures',
        detail: 'connect(2) failed with ECONNREFUSED 3 times in this sweep, and in none of the 3 of 3 previous sweeps that counted failing syscalls on node-1.',
        confidence: { level: 'medium', reason: 'compared with the median of 3 earlier sweeps' },
        evidence: [{ artifact: 'errors/node-1/result.json' }],
      },
    ]);
  });

  it('treats each resource errno as critical', () => {
    const previous = history({});
    const c = compareSweep(sweep('now', { 'node-1': { errors: syscalls({ 'write EDQUOT': 1, 'socket EMFILE': 1, 'open ENFILE': 1, 'openat EACCES': 1 }) } }), previous);
    expect(c.changes.map((x) => [x.subject, x.severity])).toEqual([
      ['open ENFILE', 'critical'],
      ['socket EMFILE', 'critical'],
      ['write EDQUOT', 'critical'],
      ['openat EACCES', 'warning'],
    ]);
  });

  it('does not call a pair new when any previous sweep saw it, nor when no previous sweep counted syscalls', () => {
    const sawItOnce = history({}, { errors: syscalls({ 'openat ENOSPC': 5 }) }, {});
    expect(titles(sweep('now', { 'node-1': { errors: syscalls({ 'openat ENOSPC': 42 }) } }), sawItOnce)).toEqual([]);
    const neverCounted = history({ errors: { status: 'failed' } }, { errors: SKIPPED });
    expect(titles(sweep('now', { 'node-1': { errors: syscalls({ 'openat ENOSPC': 42 }) } }), neverCounted)).toEqual([]);
    expect(titles(sweep('now', { 'node-1': { errors: { status: 'failed' } } }), history({}))).toEqual([]);
  });

  it('flags a known pair that grew 2× and by at least 100', () => {
    // openat ENOENT fails 51 times in the recorded capture: 51 + extra.
    const previous = history({}, {}, {});
    expect(titles(sweep('now', { 'node-1': { errors: syscalls({ 'openat ENOENT': 99 }) } }), previous)).toEqual([]);
    const c = compareSweep(sweep('now', { 'node-1': { errors: syscalls({ 'openat ENOENT': 100 }) } }), previous);
    expect(comparisonFindings(c)).toEqual([
      {
        severity: 'warning',
        title: 'Failing syscall openat ENOENT doubled on node-1: 51 → 151',
        detail: 'Baseline 51 (median of the 3 of 3 previous sweeps that measured it on node-1); now 151, 2.9× the baseline. Flagged at 2× the baseline or more and 100 failures more.',
        confidence: { level: 'medium', reason: 'compared with the median of 3 earlier sweeps' },
        evidence: [{ artifact: 'errors/node-1/result.json' }],
      },
    ]);
  });

  it('needs the ratio as well as the floor, counts sweeps without the pair as 0, and is critical for resource errnos', () => {
    const at = (n: number) => ({ errors: syscalls({ 'ioctl EINVAL': n }) });
    const previous = history(at(200), at(200), at(200));
    expect(titles(sweep('now', { 'node-1': at(399) }), previous)).toEqual([]);
    expect(titles(sweep('now', { 'node-1': at(400) }), previous)).toEqual(['Failing syscall ioctl EINVAL doubled on node-1: 200 → 400']);

    // Failed 500 times in one of three sweeps: median 0, so 100 now is flagged as growth, not as new.
    const once = history({}, { errors: syscalls({ 'write ENOSPC': 500 }) }, {});
    const c = compareSweep(sweep('now', { 'node-1': { errors: syscalls({ 'write ENOSPC': 100 }) } }), once);
    // The recorded capture already has 11 write ENOSPC failures in every sweep: baseline 11, now 111.
    expect(c.changes.map((x) => [x.kind, x.severity, x.baseline, x.current])).toEqual([['syscall-growth', 'critical', 11, 111]]);
    const fresh = history({}, { errors: syscalls({ 'fsync EIO': 500 }) }, {});
    expect(titles(sweep('now', { 'node-1': { errors: syscalls({ 'fsync EIO': 100 }) } }), fresh)).toEqual(['Failing syscall fsync EIO rose on node-1: 0 → 100']);
    expect(titles(sweep('now', { 'node-1': { errors: syscalls({ 'fsync EIO': 99 }) } }), fresh)).toEqual([]);
  });
});

describe('TCP retransmits', () => {
  it('are flagged rising from 0 by at least 10', () => {
    const previous = history({}, {}, {});
    expect(titles(sweep('now', { 'node-1': { retrans: retrans(9) } }), previous)).toEqual([]);
    const c = compareSweep(sweep('now', { 'node-1': { retrans: retrans(10) } }), previous);
    expect(comparisonFindings(c)).toEqual([
      {
        severity: 'warning',
        title: 'TCP retransmits rose on node-1: 0 → 10',
        detail: 'Baseline 0 (median of the 3 of 3 previous sweeps that measured it on node-1); now 10. Flagged at 2× the baseline or more and 10 retransmits more.',
        confidence: { level: 'medium', reason: 'compared with the median of 3 earlier sweeps' },
        evidence: [{ artifact: 'retrans/node-1/result.json' }],
      },
    ]);
  });

  it('are flagged at 2× the baseline and at least 10 more', () => {
    const at = (n: number) => ({ retrans: retrans(n) });
    expect(titles(sweep('now', { 'node-1': at(39) }), history(at(20), at(20), at(20)))).toEqual([]);
    expect(titles(sweep('now', { 'node-1': at(40) }), history(at(20), at(20), at(20)))).toEqual(['TCP retransmits doubled on node-1: 20 → 40']);
    expect(titles(sweep('now', { 'node-1': at(14) }), history(at(5), at(5), at(5)))).toEqual([]);
    expect(titles(sweep('now', { 'node-1': at(15) }), history(at(5), at(5), at(5)))).toEqual(['TCP retransmits rose 3× on node-1: 5 → 15']);
    // The recorded loopback run (169) against quiet sweeps.
    expect(titles(sweep('now', { 'node-1': { retrans: RECORDED.retrans } }), history({}))).toEqual(['TCP retransmits rose on node-1: 0 → 169']);
  });
});

describe('OOM kills', () => {
  it('are critical when they appear', () => {
    const previous = history({}, {}, {});
    const c = compareSweep(sweep('now', { 'node-1': { kills: RECORDED.kills } }), previous);
    expect(comparisonFindings(c)).toEqual([
      {
        severity: 'critical',
        title: 'OOM kills appeared on node-1: 2 kills',
        detail: 'Baseline 0 (median of the 3 of 3 previous sweeps that measured it on node-1); now 2. Every OOM kill above the baseline is flagged.',
        confidence: { level: 'high', reason: 'the kernel reported these events during the sweep' },
        evidence: [{ artifact: 'kills/node-1/result.json' }],
      },
    ]);
    expect(titles(sweep('now', { 'node-1': { kills: kills(1) } }), previous)).toEqual(['OOM kills appeared on node-1: 1 kill']);
  });

  it('are not flagged at the usual rate, nor when no previous sweep watched for them', () => {
    const usualKill = history({ kills: kills(1) }, { kills: kills(1) }, { kills: kills(0) });
    expect(titles(sweep('now', { 'node-1': { kills: kills(1) } }), usualKill)).toEqual([]);
    expect(titles(sweep('now', { 'node-1': { kills: kills(2) } }), usualKill)).toEqual(['OOM kills doubled on node-1: 1 → 2']);
    const unwatched = history({ kills: { status: 'failed', reason: 'tracepoint oom/mark_victim lacks memory fields' } });
    expect(titles(sweep('now', { 'node-1': { kills: kills(2) } }), unwatched)).toEqual([]);
  });
});

describe('a fleet', () => {
  const allFailed = (reason: string): Partial<NodeSpec> => ({
    errors: { status: 'failed', reason }, runq: { status: 'failed', reason }, io: { status: 'failed', reason },
    retrans: { status: 'failed', reason }, kills: { status: 'failed', reason },
  });

  it('compares each node with its own history, and reports nodes that came and went', () => {
    const fleet = (p: number) => sweep(`p${p}`, { 'node-1': { runq: runq(1000) }, 'node-2': { runq: runq(5000) }, 'node-3': {}, 'node-7': {} });
    const previous = [fleet(0), fleet(1), fleet(2)];
    const current = sweep('now', {
      // node-1 at node-2's usual run-queue p99: a change for node-1 only.
      'node-1': { runq: runq(5000) },
      'node-2': { runq: runq(5000) },
      // node-3 is gone; node-7's agent answered with failures only; node-9 joined.
      'node-7': allFailed('agent unreachable'),
      'node-9': { errors: syscalls({ 'openat ENOSPC': 40 }), kills: kills(1) },
    });
    const c = compareSweep(current, previous);
    expect(c.nodes.map((n) => [n.node, n.presence, n.baseline.answered])).toEqual([
      ['node-1', 'answered', 3],
      ['node-2', 'answered', 3],
      ['node-3', 'missing', 3],
      ['node-7', 'missing', 3],
      ['node-9', 'new', 0],
    ]);
    expect(c.nodes.find((n) => n.node === 'node-3')?.current).toBeNull();
    expect(comparisonFindings(c)).toEqual([
      {
        severity: 'warning',
        title: 'Run-queue p99 rose 5× on node-1: 1 ms → 5 ms',
        detail: 'Baseline 1 ms (median of the 3 of 3 previous sweeps that measured it on node-1); now 5 ms, 5× the baseline. Flagged at 2× the baseline or more and above 1 ms.',
        confidence: { level: 'medium', reason: 'compared with the median of 3 earlier sweeps' },
        evidence: [{ artifact: 'runq/node-1/result.json' }],
      },
      {
        severity: 'warning',
        title: 'No figures from node-3 in this sweep',
        detail: 'node-3 gave figures in 3 of the 3 previous sweeps but none in this one: no step of this sweep ran on it.',
        confidence: { level: 'high', reason: 'what this sweep itself saw of the nodes' },
        evidence: [],
      },
      {
        severity: 'warning',
        title: 'No figures from node-7 in this sweep',
        detail:
          'node-7 gave figures in 3 of the 3 previous sweeps but none in this one: errors (syscount) failed: agent unreachable; ' +
          'runq (runqlat) failed: agent unreachable; io (biolatency) failed: agent unreachable; retrans (tcpretrans) failed: agent unreachable; ' +
          'kills (oomkill) failed: agent unreachable.',
        confidence: { level: 'high', reason: 'what this sweep itself saw of the nodes' },
        evidence: [{ artifact: 'errors/node-7/result.json' }, { artifact: 'io/node-7/result.json' }, { artifact: 'kills/node-7/result.json' }, { artifact: 'retrans/node-7/result.json' }, { artifact: 'runq/node-7/result.json' }],
      },
      // A new node's figures are its baseline: its ENOSPC and OOM kill are not compared with anything.
      {
        severity: 'info',
        title: 'New node in this schedule: node-9',
        detail: 'node-9 gave figures in this sweep but in none of the 3 previous sweeps; they are its baseline from now on.',
        confidence: { level: 'high', reason: 'what this sweep itself saw of the nodes' },
        evidence: [{ artifact: 'errors/node-9/result.json' }, { artifact: 'io/node-9/result.json' }, { artifact: 'kills/node-9/result.json' }, { artifact: 'retrans/node-9/result.json' }, { artifact: 'runq/node-9/result.json' }],
      },
    ]);
  });

  it('warns about a node that answered any previous sweep, with how many', () => {
    const previous = [sweep('p0', { 'node-1': {} }), sweep('p1', { 'node-1': {}, 'node-2': {} }), sweep('p2', { 'node-1': {}, 'node-2': allFailed('x') })];
    const c = compareSweep(sweep('now', { 'node-1': {} }), previous);
    expect(c.changes.map((x) => [x.kind, x.node, x.baselineSweeps])).toEqual([['node-missing', 'node-2', 1]]);
    // A node that never gave figures is silent, not missing or new.
    const silent = compareSweep(sweep('now', { 'node-1': {}, 'node-5': allFailed('x') }), [sweep('p0', { 'node-1': {}, 'node-5': allFailed('y') })]);
    expect(silent.nodes.map((n) => n.presence)).toEqual(['answered', 'silent']);
    expect(silent.changes).toEqual([]);
  });

  it('orders findings by severity, then node, then title', () => {
    const previous = [sweep('p0', { 'node-a': {}, 'node-b': {}, 'node-c': {} }), sweep('p1', { 'node-a': {}, 'node-b': {}, 'node-c': {} })];
    const current = sweep('now', {
      'node-a': { runq: runq(9000), retrans: retrans(50) },
      'node-b': { kills: kills(1), errors: syscalls({ 'openat EACCES': 3 }) },
      'node-c': { errors: syscalls({ 'write ENOSPC': 200, 'mkdir ENOSPC': 2 }) },
      'node-d': {},
    });
    expect(titles(current, previous)).toEqual([
      'OOM kills appeared on node-b: 1 kill',
      'Failing syscall write ENOSPC rose 19.1× on node-c: 11 → 211',
      'New failing syscall mkdir ENOSPC on node-c: 2 failures',
      'Run-queue p99 rose 11.2× on node-a: 800 µs → 9 ms',
      'TCP retransmits rose on node-a: 0 → 50',
      'New failing syscall openat EACCES on node-b: 3 failures',
      'New node in this schedule: node-d',
    ]);
  });
});

describe('back to normal', () => {
  it('reports a flag of the previous sweep that cleared, and not one that holds', () => {
    // previous[0] had a 5 ms p99 against 1 ms before it: it was flagged then.
    const previous = history({ runq: runq(5000) }, { runq: runq(1000) }, { runq: runq(1000) });
    const c = compareSweep(sweep('now', { 'node-1': { runq: runq(1100) } }), previous);
    expect(comparisonFindings(c)).toEqual([
      {
        severity: 'info',
        title: 'Run-queue p99 back to normal on node-1: 1.1 ms (was 5 ms)',
        detail: 'Flagged in the previous sweep at 5 ms against a baseline of 1 ms (median of 2 sweeps before it); now 1.1 ms, which raises no flag.',
        confidence: { level: 'low', reason: 'compared with only 2 earlier sweeps: a baseline this short is a hint' },
        evidence: [{ artifact: 'runq/node-1/result.json' }],
      },
    ]);
    expect(titles(sweep('now', { 'node-1': { runq: runq(4000) } }), previous)).toEqual(['Run-queue p99 rose 4× on node-1: 1 ms → 4 ms']);
    // Not measured now: neither flagged nor normal.
    expect(titles(sweep('now', { 'node-1': { runq: SKIPPED } }), previous)).toEqual([]);
    // With a single previous sweep there is nothing to have flagged it against.
    expect(titles(sweep('now', { 'node-1': { runq: runq(1100) } }), previous.slice(0, 1))).toEqual([]);
  });

  it('calls a new failing syscall normal only once it stops, and OOM kills at zero', () => {
    const previous = history({ errors: syscalls({ 'openat ENOSPC': 42 }), kills: kills(1) }, {}, {});
    expect(titles(sweep('now', { 'node-1': {} }), previous)).toEqual([
      'Failing syscall openat ENOSPC stopped on node-1 (was 42 failures)',
      'OOM kills back to normal on node-1: 0 (was 1)',
    ]);
    expect(titles(sweep('now', { 'node-1': { errors: syscalls({ 'openat ENOSPC': 42 }) } }), previous)).toEqual(['OOM kills back to normal on node-1: 0 (was 1)']);
  });

  it('reports a node that answers again', () => {
    const previous = [sweep('p0', { 'node-1': {} }), sweep('p1', { 'node-1': {}, 'node-2': {} }), sweep('p2', { 'node-1': {}, 'node-2': {} })];
    const c = compareSweep(sweep('now', { 'node-1': {}, 'node-2': {} }), previous);
    expect(comparisonFindings(c)).toEqual([
      {
        severity: 'info',
        title: 'node-2 answers again',
        detail: 'node-2 gave no figures in the previous sweep and gives them again.',
        confidence: { level: 'low', reason: 'compared with only 2 earlier sweeps: a baseline this short is a hint' },
        evidence: [{ artifact: 'errors/node-2/result.json' }, { artifact: 'io/node-2/result.json' }, { artifact: 'kills/node-2/result.json' }, { artifact: 'retrans/node-2/result.json' }, { artifact: 'runq/node-2/result.json' }],
      },
    ]);
  });
});

describe('the stored comparison', () => {
  it('is plain JSON that its schema reads back, and the same every time', () => {
    const previous = [sweep('p0', { 'node-1': { runq: runq(5000) }, 'node-2': {} }), sweep('p1', { 'node-1': {}, 'node-2': {} }), sweep('p2', { 'node-1': {}, 'node-2': {} })];
    const current = sweep('now', { 'node-1': { io: RECORDED.ioEnospc, errors: syscalls({ 'openat ENOSPC': 3 }) }, 'node-3': {} });
    const c = compareSweep(current, previous);
    const json = JSON.stringify(c);
    expect(JSON.parse(json)).toEqual(c);
    expect(SweepComparison.parse(JSON.parse(json))).toEqual(c);
    expect(JSON.stringify(compareSweep(current, previous))).toBe(json);
    expect(c.investigationId).toBe('now');
    expect(c.previous.map((p) => p.id)).toEqual(['p0', 'p1', 'p2']);
    expect(c.options).toEqual({ ratio: 2, runqFloorUs: 1000, ioFloorUs: 5000, syscallFloor: 100, retransFloor: 10, ioErrorFloor: 1 });
    expect(Object.keys(c)).toEqual(['investigationId', 'schedule', 'previous', 'options', 'nodes', 'changes']);
    expect(c.schedule).toBe('hourly-sweep');
    expect(c.changes.map((x) => [x.severity, x.kind, x.node])).toEqual([
      ['critical', 'syscall-new', 'node-1'],
      ['warning', 'io-errors', 'node-1'],
      ['warning', 'node-missing', 'node-2'],
      ['info', 'back-to-normal', 'node-1'],
      ['info', 'node-new', 'node-3'],
    ]);
    const node1 = c.nodes.find((n) => n.node === 'node-1');
    expect(node1?.baseline.io?.devices.find((d) => d.device === 'vda' && d.op === 'write')).toEqual({
      device: 'vda', op: 'write', p99: { value: 1491.5, sweeps: 3 }, errors: { value: 0, sweeps: 3 },
    });
    expect(node1?.baseline.syscalls?.failing.find((p) => p.syscall === 'futex')).toEqual({
      syscall: 'futex', errno: 'ETIMEDOUT', count: { value: 77, sweeps: 3 }, seenIn: 3,
    });
  });

  it('rejects bad options and a current sweep among the previous ones', () => {
    const s = sweep('now', { 'node-1': {} });
    expect(() => compareSweep(s, [], { ratio: 1 })).toThrow(/invalid sweep comparison options:[\s\S]*ratio must be above 1/);
    expect(() => compareSweep(s, [], { runqFloorUs: -1 })).toThrow(/invalid sweep comparison options:[\s\S]*runqFloorUs/);
    expect(() => compareSweep(s, [s])).toThrow('the previous sweeps must not include the current one (now)');
    const other = { ...sweep('p0', { 'node-1': {} }), schedule: 'nightly-sweep' };
    expect(() => compareSweep(s, [other])).toThrow('sweep p0 belongs to schedule nightly-sweep, not to hourly-sweep: only sweeps of one schedule compare');
  });
});

describe('wording', () => {
  it('writes latencies in µs, ms or s', () => {
    expect([0.4, 9.96, 850.3, 999.4, 999.6, 1000, 14640.3, 99_949, 99_950, 250_000, 999_600, 1_250_000].map(formatMicros)).toEqual([
      '0.4 µs', '10 µs', '850 µs', '999 µs', '1 ms', '1 ms', '14.6 ms', '99.9 ms', '100 ms', '250 ms', '1 s', '1.25 s',
    ]);
  });

  it('says "doubled" from 2× to just under 3×', () => {
    expect([riseWord(1999, 1000), riseWord(2000, 1000), riseWord(2990, 1000), riseWord(3000, 1000), riseWord(5, 0)]).toEqual([
      'rose 1.9×', 'doubled', 'doubled', 'rose 3×', 'rose',
    ]);
  });
});
