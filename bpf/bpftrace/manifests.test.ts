import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tools } from '../index.ts';
import type { BpftraceTool, KernelScope } from '../tool.ts';
import { descriptorSyscallArgs } from './syscount/manifest.ts';

/**
 * The eight bpftrace manifests are written with defineBpftraceTool (define.ts). These are the tools as they were
 * before it, written out by hand: positional arguments for a few params and scopes, environment, limits and
 * requirements. A helper that drops the pid slot, reorders the cgroup set or forgets an env setting fails here.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const ANY: KernelScope = { cgroupIds: [], pid: 0 };
const ONE_CGROUP: KernelScope = { cgroupIds: [4242], pid: 0 };
/** A cgroup named twice takes one slot; the pid narrows. */
const CGROUPS_AND_PID: KernelScope = { cgroupIds: [11, 12, 11, 13], pid: 777 };

/** syscount's last 16 arguments are syscall numbers of the agent's architecture (checked for x64 below). */
const DESCRIPTORS = descriptorSyscallArgs(process.arch);

interface Expected {
  env: Record<string, string>;
  limits: BpftraceTool['limits'];
  requires: BpftraceTool['requires'];
  /** params (before defaults), scope, the program's positional arguments. */
  args: [object, KernelScope, string[]][];
}

const EXPECTED: Record<string, Expected> = {
  'mount-refusals': {
    env: {},
    limits: { minDurationMs: 1000, maxDurationMs: 120000, defaultDurationMs: 5000, maxOutputBytes: 8388608, stopGraceMs: 2000 },
    // Its probes are its variants' requirements (kprobe on count_mounts, or the mount syscalls' exit tracepoints).
    requires: [{ kind: 'bpftrace' }, { kind: 'btf' }],
    args: [
      [{}, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, CGROUPS_AND_PID, ['11', '777', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
  opensnoop: {
    env: { BPFTRACE_STRLEN: '200' },
    limits: { minDurationMs: 1000, maxDurationMs: 120000, defaultDurationMs: 10000, maxOutputBytes: 16777216, stopGraceMs: 2000 },
    // Its probes are its variants' requirements (fentry on do_sys_openat2, or the open* syscall tracepoints).
    requires: [{ kind: 'bpftrace' }],
    args: [
      [{}, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, ONE_CGROUP, ['0', '4242', '0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ errno: 'enoent', successes: true }, CGROUPS_AND_PID, ['2', '11', '777', '12', '13', '0', '0', '0', '0', '0', '1']],
    ],
  },
  gethostlatency: {
    env: { BPFTRACE_STRLEN: '200' },
    limits: { minDurationMs: 1000, maxDurationMs: 120000, defaultDurationMs: 10000, maxOutputBytes: 16777216, stopGraceMs: 2000 },
    // uprobes: the requirement of its one variant.
    requires: [{ kind: 'bpftrace' }],
    args: [
      [{}, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ maxProcesses: 3 }, CGROUPS_AND_PID, ['11', '777', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
  syscount: {
    env: {},
    limits: { minDurationMs: 1000, maxDurationMs: 120000, defaultDurationMs: 10000, maxOutputBytes: 16777216, stopGraceMs: 2000 },
    requires: [{ kind: 'bpftrace' }, { kind: 'tracepoint', name: 'raw_syscalls/sys_enter' }, { kind: 'tracepoint', name: 'raw_syscalls/sys_exit' }],
    args: [
      [{}, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0', '0', ...DESCRIPTORS]],
      [{}, ONE_CGROUP, ['0', '4242', '0', '0', '0', '0', '0', '0', '0', '0', ...DESCRIPTORS]],
      [{}, CGROUPS_AND_PID, ['0', '11', '777', '12', '13', '0', '0', '0', '0', '0', ...DESCRIPTORS]],
      [{ errno: 'ENOSPC' }, ANY, ['28', '0', '0', '0', '0', '0', '0', '0', '0', '0', ...DESCRIPTORS]],
      [{ errno: 'ENOSPC' }, ONE_CGROUP, ['28', '4242', '0', '0', '0', '0', '0', '0', '0', '0', ...DESCRIPTORS]],
      [{ errno: 'ENOSPC' }, CGROUPS_AND_PID, ['28', '11', '777', '12', '13', '0', '0', '0', '0', '0', ...DESCRIPTORS]],
    ],
  },
  // The joint program of triage's kernel signals: profile's leading Hz, the scope, syscount's trailing numbers, then
  // syscount's errno and oomkill's end-after (both off); every part's env, requirements and the largest limits.
  triage: {
    env: { BPFTRACE_STRLEN: '200', BPFTRACE_NO_USER_SYMBOLS: '1' },
    limits: { minDurationMs: 1000, maxDurationMs: 60000, defaultDurationMs: 5000, maxOutputBytes: 122683392, stopGraceMs: 15000 },
    requires: [
      { kind: 'bpftrace' },
      { kind: 'tracepoint', name: 'raw_syscalls/sys_enter' }, { kind: 'tracepoint', name: 'raw_syscalls/sys_exit' },
      { kind: 'tracepoint', name: 'sched/sched_wakeup' }, { kind: 'tracepoint', name: 'sched/sched_wakeup_new' }, { kind: 'tracepoint', name: 'sched/sched_switch' },
      { kind: 'tracepoint', name: 'block/block_bio_queue' }, { kind: 'tracepoint', name: 'block/block_bio_backmerge' }, { kind: 'tracepoint', name: 'block/block_bio_frontmerge' }, { kind: 'tracepoint', name: 'block/block_bio_remap' }, { kind: 'tracepoint', name: 'block/block_split' },
      { kind: 'tracepoint', name: 'block/block_rq_insert' }, { kind: 'tracepoint', name: 'block/block_rq_issue' }, { kind: 'tracepoint', name: 'block/block_rq_complete' },
      { kind: 'btf' }, { kind: 'tracepoint', name: 'tcp/tcp_retransmit_skb' }, { kind: 'tracepoint', name: 'sock/inet_sock_set_state' },
      { kind: 'tracepoint', name: 'oom/mark_victim' },
      { kind: 'tracepoint', name: 'syscalls/sys_enter_execve' }, { kind: 'tracepoint', name: 'syscalls/sys_exit_execve' },
      { kind: 'tracepoint', name: 'syscalls/sys_enter_execveat' }, { kind: 'tracepoint', name: 'syscalls/sys_exit_execveat' },
      { kind: 'perf-events' },
    ],
    args: [
      [{}, ANY, ['99', '0', '0', '0', '0', '0', '0', '0', '0', '0', ...DESCRIPTORS, '0', '0']],
      [{ hz: 49 }, CGROUPS_AND_PID, ['49', '11', '777', '12', '13', '0', '0', '0', '0', '0', ...DESCRIPTORS, '0', '0']],
    ],
  },
  profile: {
    env: { BPFTRACE_NO_USER_SYMBOLS: '1' },
    limits: { minDurationMs: 1000, maxDurationMs: 60000, defaultDurationMs: 10000, maxOutputBytes: 33554432, stopGraceMs: 15000 },
    requires: [{ kind: 'bpftrace' }, { kind: 'perf-events' }],
    args: [
      [{}, ANY, ['99', '0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, ONE_CGROUP, ['99', '4242', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, CGROUPS_AND_PID, ['99', '11', '777', '12', '13', '0', '0', '0', '0', '0']],
      [{ hz: 49 }, ANY, ['49', '0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ hz: 49 }, ONE_CGROUP, ['49', '4242', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ hz: 49 }, CGROUPS_AND_PID, ['49', '11', '777', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
  offcputime: {
    env: { BPFTRACE_NO_USER_SYMBOLS: '1', BPFTRACE_MAP_KEYS_MAX: '8192' },
    limits: { minDurationMs: 1000, maxDurationMs: 60000, defaultDurationMs: 10000, maxOutputBytes: 33554432, stopGraceMs: 15000 },
    requires: [{ kind: 'bpftrace' }, { kind: 'tracepoint', name: 'sched/sched_switch' }, { kind: 'tracepoint', name: 'sched/sched_wakeup' }],
    args: [
      [{}, ANY, ['1000', '0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ minBlockUs: 0 }, ONE_CGROUP, ['0', '4242', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, CGROUPS_AND_PID, ['1000', '11', '777', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
  mountsnoop: {
    env: { BPFTRACE_STRLEN: '200' },
    limits: { minDurationMs: 1000, maxDurationMs: 120000, defaultDurationMs: 10000, maxOutputBytes: 16777216, stopGraceMs: 2000 },
    requires: [{ kind: 'bpftrace' }, { kind: 'tracepoint', name: 'syscalls/sys_enter_mount' }, { kind: 'tracepoint', name: 'syscalls/sys_exit_mount' }, { kind: 'tracepoint', name: 'syscalls/sys_enter_umount' }, { kind: 'tracepoint', name: 'syscalls/sys_exit_umount' }, { kind: 'tracepoint', name: 'syscalls/sys_enter_open_tree' }, { kind: 'tracepoint', name: 'syscalls/sys_exit_open_tree' }, { kind: 'tracepoint', name: 'syscalls/sys_enter_move_mount' }, { kind: 'tracepoint', name: 'syscalls/sys_exit_move_mount' }],
    args: [
      [{}, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, CGROUPS_AND_PID, ['11', '777', '12', '13', '0', '0', '0', '0', '0']],
      [{ maxPaths: 7 }, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ maxPaths: 7 }, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ maxPaths: 7 }, CGROUPS_AND_PID, ['11', '777', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
  execsnoop: {
    env: { BPFTRACE_STRLEN: '200' },
    limits: { minDurationMs: 1000, maxDurationMs: 120000, defaultDurationMs: 10000, maxOutputBytes: 16777216, stopGraceMs: 2000 },
    requires: [{ kind: 'bpftrace' }, { kind: 'btf' }, { kind: 'tracepoint', name: 'syscalls/sys_enter_execve' }, { kind: 'tracepoint', name: 'syscalls/sys_exit_execve' }, { kind: 'tracepoint', name: 'syscalls/sys_enter_execveat' }, { kind: 'tracepoint', name: 'syscalls/sys_exit_execveat' }],
    args: [
      [{}, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, CGROUPS_AND_PID, ['11', '777', '12', '13', '0', '0', '0', '0', '0']],
      [{ top: 5 }, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ top: 5 }, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ top: 5 }, CGROUPS_AND_PID, ['11', '777', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
  oomkill: {
    env: {},
    limits: { minDurationMs: 1000, maxDurationMs: 120000, defaultDurationMs: 10000, maxOutputBytes: 1048576, stopGraceMs: 2000 },
    requires: [{ kind: 'bpftrace' }, { kind: 'tracepoint', name: 'oom/mark_victim' }],
    // The scope's eight slots, then endAfterMs ($10: 0 watches the whole window; 2000 ends 2 s after a first kill).
    args: [
      [{}, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, CGROUPS_AND_PID, ['11', '777', '12', '13', '0', '0', '0', '0', '0', '0']],
      [{ endAfterMs: 2000 }, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0', '0', '2000']],
    ],
  },
  tcpretrans: {
    env: {},
    limits: { minDurationMs: 1000, maxDurationMs: 120000, defaultDurationMs: 10000, maxOutputBytes: 16777216, stopGraceMs: 2000 },
    requires: [{ kind: 'bpftrace' }, { kind: 'btf' }, { kind: 'tracepoint', name: 'tcp/tcp_retransmit_skb' }],
    args: [
      [{}, ANY, ['0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0']],
      [{}, CGROUPS_AND_PID, ['11', '12', '13', '0', '0', '0', '0', '0']],
      [{ maxFlows: 9 }, ANY, ['0', '0', '0', '0', '0', '0', '0', '0']],
      [{ maxFlows: 9 }, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0']],
      [{ maxFlows: 9 }, CGROUPS_AND_PID, ['11', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
  tcpconnect: {
    env: {},
    limits: { minDurationMs: 1000, maxDurationMs: 120000, defaultDurationMs: 10000, maxOutputBytes: 16777216, stopGraceMs: 2000 },
    requires: [{ kind: 'bpftrace' }, { kind: 'btf' }, { kind: 'tracepoint', name: 'sock/inet_sock_set_state' }],
    args: [
      [{}, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ maxTargets: 3 }, CGROUPS_AND_PID, ['11', '777', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
  tcpaccept: {
    env: {},
    limits: { minDurationMs: 1000, maxDurationMs: 120000, defaultDurationMs: 10000, maxOutputBytes: 16777216, stopGraceMs: 2000 },
    requires: [{ kind: 'bpftrace' }, { kind: 'btf' }, { kind: 'tracepoint', name: 'sock/inet_sock_set_state' }, { kind: 'tracepoint', name: 'syscalls/sys_exit_accept4' }, { kind: 'tracepoint', name: 'syscalls/sys_exit_accept' }],
    args: [
      [{}, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ maxRows: 3 }, CGROUPS_AND_PID, ['11', '777', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
  runqlat: {
    env: {},
    limits: { minDurationMs: 1000, maxDurationMs: 60000, defaultDurationMs: 10000, maxOutputBytes: 16777216, stopGraceMs: 2000 },
    requires: [{ kind: 'bpftrace' }, { kind: 'tracepoint', name: 'sched/sched_wakeup' }, { kind: 'tracepoint', name: 'sched/sched_wakeup_new' }, { kind: 'tracepoint', name: 'sched/sched_switch' }],
    args: [
      [{}, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, CGROUPS_AND_PID, ['11', '777', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
  biolatency: {
    env: {},
    limits: { minDurationMs: 1000, maxDurationMs: 60000, defaultDurationMs: 10000, maxOutputBytes: 4194304, stopGraceMs: 2000 },
    requires: [{ kind: 'bpftrace' }, { kind: 'tracepoint', name: 'block/block_bio_queue' }, { kind: 'tracepoint', name: 'block/block_bio_backmerge' }, { kind: 'tracepoint', name: 'block/block_bio_frontmerge' }, { kind: 'tracepoint', name: 'block/block_bio_remap' }, { kind: 'tracepoint', name: 'block/block_split' }, { kind: 'tracepoint', name: 'block/block_rq_insert' }, { kind: 'tracepoint', name: 'block/block_rq_issue' }, { kind: 'tracepoint', name: 'block/block_rq_complete' }],
    args: [
      [{}, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, ONE_CGROUP, ['4242', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, CGROUPS_AND_PID, ['11', '777', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
  // Issue #14's slice B: leading threshold and count, then the scope (their own tests cover them in detail).
  biosnoop: {
    env: {},
    limits: { minDurationMs: 1000, maxDurationMs: 60000, defaultDurationMs: 10000, maxOutputBytes: 8388608, stopGraceMs: 2000 },
    requires: [{ kind: 'bpftrace' }, { kind: 'tracepoint', name: 'block/block_bio_queue' }, { kind: 'tracepoint', name: 'block/block_bio_backmerge' }, { kind: 'tracepoint', name: 'block/block_bio_frontmerge' }, { kind: 'tracepoint', name: 'block/block_bio_remap' }, { kind: 'tracepoint', name: 'block/block_split' }, { kind: 'tracepoint', name: 'block/block_rq_insert' }, { kind: 'tracepoint', name: 'block/block_rq_issue' }, { kind: 'tracepoint', name: 'block/block_rq_complete' }],
    args: [
      [{}, ANY, ['1000', '50', '0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ minLatencyUs: 0, maxRequests: 5 }, CGROUPS_AND_PID, ['0', '5', '11', '777', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
  fsslower: {
    env: {},
    limits: { minDurationMs: 1000, maxDurationMs: 120000, defaultDurationMs: 10000, maxOutputBytes: 8388608, stopGraceMs: 2000 },
    requires: [{ kind: 'bpftrace' }],
    args: [
      [{}, ANY, ['10', '50', '0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ thresholdMs: 1 }, ONE_CGROUP, ['1', '50', '4242', '0', '0', '0', '0', '0', '0', '0', '0']],
    ],
  },
  ext4slower: {
    env: {},
    limits: { minDurationMs: 1000, maxDurationMs: 120000, defaultDurationMs: 10000, maxOutputBytes: 8388608, stopGraceMs: 2000 },
    requires: [{ kind: 'bpftrace' }],
    args: [
      [{}, ANY, ['10', '50', '0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{ thresholdMs: 0, maxOps: 7 }, CGROUPS_AND_PID, ['0', '7', '11', '777', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
  cachestat: {
    env: { BPFTRACE_MAP_KEYS_MAX: '4096' },
    limits: { minDurationMs: 1000, maxDurationMs: 120000, defaultDurationMs: 10000, maxOutputBytes: 4194304, stopGraceMs: 2000 },
    requires: [{ kind: 'bpftrace' }],
    args: [
      [{}, ANY, ['0', '0', '0', '0', '0', '0', '0', '0', '0']],
      [{}, CGROUPS_AND_PID, ['11', '777', '12', '13', '0', '0', '0', '0', '0']],
    ],
  },
};

describe('bpftrace manifests written with defineBpftraceTool', () => {
  const bpftrace = Object.values(tools).filter((t): t is BpftraceTool => t.kind === 'bpftrace');

  it('covers every bpftrace tool of the catalogue', () => {
    expect(bpftrace.map((t) => t.name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s: the same args, env, limits and requirements as before', (name, want) => {
    const tool = tools[name] as BpftraceTool;
    expect(tool.kind).toBe('bpftrace');
    expect(relative(ROOT, tool.programFile)).toBe(`bpf/bpftrace/${name}/program.bt`);
    expect(tool.env).toEqual(want.env);
    expect(tool.limits).toEqual(want.limits);
    expect(tool.requires).toEqual(want.requires);
    for (const [params, scope, args] of want.args) {
      expect(tool.args(tool.params.parse(params), scope), `${name} ${JSON.stringify(params)} ${JSON.stringify(scope)}`).toEqual(args);
    }
  });

  it("numbers syscount's descriptor syscalls for x64 as the program expects", () => {
    expect(descriptorSyscallArgs('x64')).toEqual(['1', '18', '20', '296', '328', '285', '77', '74', '75', '277', '40', '326', '275', '3', '33', '292']);
  });
});
