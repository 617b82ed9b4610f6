import { describe, expect, it } from 'vitest';
import { parseBiolatency } from '../../bpf/bpftrace/biolatency/parser.ts';
import { oomkill } from '../../bpf/bpftrace/oomkill/manifest.ts';
import { runqlat } from '../../bpf/bpftrace/runqlat/manifest.ts';
import { syscount } from '../../bpf/bpftrace/syscount/manifest.ts';
import { tcpretrans } from '../../bpf/bpftrace/tcpretrans/manifest.ts';
import type { ParseContext } from '../../bpf/tool.ts';
import { Investigation, type Step, type StepStatus } from '../../src/core/investigation.ts';
import { NodeFigures, answered, sweepFigures } from '../../src/sweeps/figures.ts';
import { toolFixture } from '../helpers/recordings.ts';

// Results are the tools' own parsers run on their recorded fixtures (bpf/<tool>/fixtures/README.md).
const fixture = toolFixture;
const ctx: ParseContext = { arch: 'x64', cgroupPathOf: (id) => (id === 1 ? '/' : `/fixture-${id}`) };
/** The recording machine's root disk; its loop0 (7:0) was detached before the names were read. */
const vdaOnly = (major: number, minor: number) => (major === 254 && minor === 0 ? 'vda' : null);

const results = {
  syscountUnfiltered: () => syscount.parse(fixture('syscount', 'unfiltered.json'), {}, ctx).result,
  syscountNone: () => syscount.parse(fixture('syscount', 'no-failures.json'), {}, ctx).result,
  runqNode: () => runqlat.parse(fixture('runqlat', 'hogs-node.json'), {}, ctx).result,
  runqIdle: () => runqlat.parse(fixture('runqlat', 'idle-cgroup.json'), {}, ctx).result,
  ioNode: () => parseBiolatency(fixture('biolatency', 'dd-node.json'), vdaOnly),
  ioEnospc: () => parseBiolatency(fixture('biolatency', 'loop-enospc.json'), vdaOnly),
  retrans: () => tcpretrans.parse(fixture('tcpretrans', 'loopback-cgroup.json'), { maxFlows: 50 }, ctx).result,
  kills: () => oomkill.parse(fixture('oomkill', 'memcg-two-kills.json'), {}, ctx).result,
  noKills: () => oomkill.parse(fixture('oomkill', 'no-kills.json'), {}, ctx).result,
};

const PLAYBOOK_STEPS = [
  ['errors', 'syscount'],
  ['runq', 'runqlat'],
  ['io', 'biolatency'],
  ['retrans', 'tcpretrans'],
  ['kills', 'oomkill'],
] as const;

function step(id: string, tool: string, node: string | null, status: StepStatus, result?: unknown, reason?: string): Step {
  return {
    id, tool, node, status, artifacts: status === 'succeeded' ? [`${id}/${node}/result.json`] : [],
    ...(result === undefined ? {} : { result }),
    ...(reason === undefined ? {} : { reason }),
  };
}

function investigation(steps: Step[]): Investigation {
  return Investigation.parse({
    id: 'inv-1', status: 'succeeded', playbook: 'health-sweep', params: { duration: 3000 }, createdAt: '2026-11-26T03:00:00.000Z',
    requestedBy: 'schedule:nightly-sweep', steps, artifacts: [],
  });
}

/** A node on which all five steps succeeded, with the fixtures' results. */
function healthyNode(node: string): Step[] {
  const r = [results.syscountUnfiltered(), results.runqNode(), results.ioNode(), results.retrans(), results.kills()];
  return PLAYBOOK_STEPS.map(([id, tool], i) => step(id, tool, node, 'succeeded', r[i]));
}

describe('sweepFigures', () => {
  it('reads every figure of a node from the recorded results', () => {
    const figures = sweepFigures(investigation(healthyNode('node-1')));
    expect([...figures.keys()]).toEqual(['node-1']);
    const f = figures.get('node-1');
    expect(NodeFigures.parse(f)).toEqual(f);
    expect(f).toEqual({
      node: 'node-1',
      // 27 rows of (syscall, errno, comm, pid, cgroup), summed per syscall and errno: 186 failures in all.
      syscalls: {
        step: 'errors',
        failing: [
          { syscall: 'futex', errno: 'ETIMEDOUT', count: 77 },
          { syscall: 'openat', errno: 'ENOENT', count: 51 },
          { syscall: 'newfstatat', errno: 'ENOENT', count: 16 },
          { syscall: 'write', errno: 'ENOSPC', count: 11 },
          { syscall: 'access', errno: 'ENOENT', count: 6 },
          { syscall: 'fallocate', errno: 'ENOSPC', count: 6 },
          { syscall: 'wait4', errno: 'ECHILD', count: 5 },
          { syscall: 'pwrite64', errno: 'ENOSPC', count: 4 },
          { syscall: 'ioctl', errno: 'ENOTTY', count: 2 },
          { syscall: 'statfs', errno: 'ENOENT', count: 2 },
          { syscall: 'statx', errno: 'ENOENT', count: 2 },
          { syscall: 'syscall_-1', errno: 'EINTR', count: 2 },
          { syscall: 'epoll_wait', errno: 'EINTR', count: 1 },
          { syscall: 'rt_sigsuspend', errno: 'ERESTARTNOHAND', count: 1 },
        ],
      },
      // The merged histogram of every cgroup, not the worst cgroup's.
      runq: { step: 'runq', count: 4227, p50: 783, p99: 25683.2 },
      io: {
        step: 'io',
        devices: [
          { device: '7:0', op: 'read', count: 1024, p99: 353.3, errors: 0 },
          { device: '7:0', op: 'write', count: 256, p99: 226.2, errors: 0 },
          { device: 'vda', op: 'read', count: 251, p99: 1814.3, errors: 0 },
          { device: 'vda', op: 'write', count: 2239, p99: 1491.5, errors: 0 },
          { device: 'vda', op: 'discard', count: 12, p99: 962.6, errors: 0 },
        ],
      },
      retrans: { step: 'retrans', total: 169 },
      oomKills: { step: 'kills', total: 2 },
      unmeasured: [],
    });
    expect(answered(f)).toBe(true);
  });

  it('sums the failures of one syscall and errno over processes and cgroups', () => {
    const result = results.syscountUnfiltered();
    // write ENOSPC: fill,er in cgroup 63 and in the root cgroup (5 each) and dd (1).
    expect(result.rows.filter((r) => r.syscall === 'write' && r.errno === 'ENOSPC').map((r) => r.count)).toEqual([5, 5, 1]);
    const f = sweepFigures(investigation([step('errors', 'syscount', 'node-1', 'succeeded', result)])).get('node-1');
    expect(f?.syscalls?.failing.find((p) => p.syscall === 'write')).toEqual({ syscall: 'write', errno: 'ENOSPC', count: 11 });
    expect(f?.syscalls?.failing.reduce((sum, p) => sum + p.count, 0)).toBe(result.totalEvents);
  });

  it('tells measured zero from not measured', () => {
    const measuredZero = sweepFigures(
      investigation([
        step('errors', 'syscount', 'node-1', 'succeeded', results.syscountNone()),
        step('runq', 'runqlat', 'node-1', 'succeeded', results.runqIdle()),
        step('retrans', 'tcpretrans', 'node-1', 'succeeded', tcpretrans.parse(fixture('tcpretrans', 'no-retransmits.json'), { maxFlows: 50 }, ctx).result),
        step('kills', 'oomkill', 'node-1', 'succeeded', results.noKills()),
        step('io', 'biolatency', 'node-1', 'succeeded', parseBiolatency(fixture('biolatency', 'idle-cgroup.json'), vdaOnly)),
      ]),
    ).get('node-1');
    expect(measuredZero).toEqual({
      node: 'node-1',
      syscalls: { step: 'errors', failing: [] },
      // Measured, but no wait to estimate a percentile from.
      runq: { step: 'runq', count: 0, p50: null, p99: null },
      io: { step: 'io', devices: [] },
      retrans: { step: 'retrans', total: 0 },
      oomKills: { step: 'kills', total: 0 },
      unmeasured: [],
    });

    const notMeasured = sweepFigures(
      investigation([
        step('errors', 'syscount', 'node-1', 'failed', undefined, 'bpftrace exited with code 1: ERROR: tracepoint not found'),
        step('runq', 'runqlat', 'node-1', 'skipped', undefined, 'node lacks tracepoint sched/sched_switch'),
        step('io', 'biolatency', 'node-1', 'cancelled'),
        // Succeeded, but the result is not a tcpretrans result.
        step('retrans', 'tcpretrans', 'node-1', 'succeeded', { total: 'many' }),
        step('kills', 'oomkill', 'node-1', 'succeeded'),
      ]),
    ).get('node-1');
    expect(notMeasured).toEqual({
      node: 'node-1', syscalls: null, runq: null, io: null, retrans: null, oomKills: null,
      unmeasured: [
        { step: 'errors', tool: 'syscount', status: 'failed', reason: 'bpftrace exited with code 1: ERROR: tracepoint not found' },
        { step: 'runq', tool: 'runqlat', status: 'skipped', reason: 'node lacks tracepoint sched/sched_switch' },
        { step: 'io', tool: 'biolatency', status: 'cancelled', reason: null },
        { step: 'retrans', tool: 'tcpretrans', status: 'succeeded', reason: 'the result does not match the tcpretrans result schema' },
        { step: 'kills', tool: 'oomkill', status: 'succeeded', reason: 'the result does not match the oomkill result schema' },
      ],
    });
    expect(answered(notMeasured)).toBe(false);
  });

  it('does not take a result of another tool for its own', () => {
    // A runqlat result recorded under the biolatency step must not become block I/O figures.
    const f = sweepFigures(investigation([step('io', 'biolatency', 'node-1', 'succeeded', results.runqNode())])).get('node-1');
    expect(f?.io).toBeNull();
  });

  it('names a device without a name by its numbers and keeps its errors', () => {
    const f = sweepFigures(investigation([step('io', 'biolatency', 'node-1', 'succeeded', results.ioEnospc())])).get('node-1');
    expect(f?.io?.devices).toEqual([
      { device: '7:0', op: 'write', count: 17, p99: 1873.9, errors: 1 },
      { device: 'vda', op: 'read', count: 33, p99: 495.1, errors: 0 },
      { device: 'vda', op: 'write', count: 2, p99: 127.4, errors: 0 },
      { device: 'vda', op: 'discard', count: 31, p99: 865.3, errors: 0 },
    ]);
  });

  it('merges two device numbers that carry the same name, keeping the worse tail', () => {
    const io = results.ioEnospc();
    const renamed = { ...io, rows: io.rows.map((r) => (r.major === 7 && r.op === 'write' ? { ...r, device: 'vda' } : r)) };
    const f = sweepFigures(investigation([step('io', 'biolatency', 'node-1', 'succeeded', renamed)])).get('node-1');
    expect(f?.io?.devices.find((d) => d.device === 'vda' && d.op === 'write')).toEqual({
      device: 'vda', op: 'write', count: 19, p99: 1873.9, errors: 1,
    });
  });

  it('splits a fleet by node, sorted by name, and ignores steps without a node or of other tools', () => {
    const figures = sweepFigures(
      investigation([
        ...healthyNode('node-3'),
        ...healthyNode('node-10'),
        step('profile', 'profile', 'node-3', 'succeeded', { samples: 1 }),
        step('errors', 'syscount', null, 'succeeded', results.syscountNone()),
        step('runq', 'runqlat', 'node-2', 'failed', undefined, 'agent unreachable'),
      ]),
    );
    expect([...figures.keys()]).toEqual(['node-10', 'node-2', 'node-3']);
    expect(figures.get('node-2')).toEqual({
      node: 'node-2', syscalls: null, runq: null, io: null, retrans: null, oomKills: null,
      unmeasured: [{ step: 'runq', tool: 'runqlat', status: 'failed', reason: 'agent unreachable' }],
    });
    expect(figures.get('node-3')?.runq?.p99).toBe(25683.2);
  });

  it('takes the first usable step of a tool on a node, and forgets a failed one before it', () => {
    const figures = sweepFigures(
      investigation([
        step('runq', 'runqlat', 'node-1', 'failed', undefined, 'timed out'),
        step('runq-again', 'runqlat', 'node-1', 'succeeded', results.runqNode()),
        step('runq-third', 'runqlat', 'node-1', 'succeeded', results.runqIdle()),
      ]),
    ).get('node-1');
    expect(figures?.runq).toEqual({ step: 'runq-again', count: 4227, p50: 783, p99: 25683.2 });
    expect(figures?.unmeasured).toEqual([]);
  });
});
