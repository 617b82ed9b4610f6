import { beforeAll, describe, expect, it } from 'vitest';
import { execsnoop } from '../../bpf/bpftrace/execsnoop/manifest.ts';
import { BPFTRACE_SENTINEL_ARGS, runTimeBoxed, type TimeBoxOptions } from '../../workers/node-agent/time-box.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { UNUSED_CGROUPS } from '../helpers/cgroup-slots.ts';

/**
 * bpftrace with SIGINT blocked: what bpftrace 0.17 does when a SIGINT lands between two epoll_waits (it sets a flag
 * nobody reads again), made certain instead of one stop in seven under load. perl-base is essential on Debian.
 */
const SIGINT_BLOCKED = ['-MPOSIX', '-e', 'sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGINT)) or die; exec @ARGV or die', '--', 'bpftrace'];

const box = (extra: Partial<TimeBoxOptions>) =>
  runTimeBoxed({
    command: 'perl',
    args: ['-f', 'json', execsnoop.programFile, ...execsnoop.args({ top: 20 }, UNUSED_CGROUPS)],
    durationMs: 500,
    killGraceMs: 4_000,
    maxOutputBytes: execsnoop.limits.maxOutputBytes,
    startMarker: '"attached_probes"',
    startupMs: 30_000,
    ...extra,
  });

describe.skipIf(skipBpf)(bpfSuiteName('stopping bpftrace when its SIGINT is lost'), () => {
  beforeAll(() => assertBpf());

  it('stops it through the sentinel, with its maps printed', async () => {
    const run = await box({ sentinelArgs: (pid) => [...SIGINT_BLOCKED, ...BPFTRACE_SENTINEL_ARGS(pid)] });
    expect(run.killed, run.stderr).toBe(false);
    expect(run.stdout).toContain('"@complete": 1');
    // One poll (100 ms) after the sentinel ends, plus detaching and printing; far inside the 4 s grace.
    expect(run.finishedAt.getTime() - run.attachedAt!.getTime()).toBeLessThan(500 + 3_000);
  });

  it('without the sentinel, it runs on until killed and its maps are lost (why the sentinel exists)', async () => {
    const run = await box({ args: [...SIGINT_BLOCKED, '-f', 'json', execsnoop.programFile, ...execsnoop.args({ top: 20 }, UNUSED_CGROUPS)] });
    expect(run.attachedAt).not.toBeNull();
    expect(run.killed).toBe(true);
    expect(run.stdout).not.toContain('"@complete"');
  });
});
