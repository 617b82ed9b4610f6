// Profiling a test process through a whole running system (helpers/system.ts): the process in a cgroup of its own,
// one cpu-profile investigation of that cgroup, and what a person would read of it (result, folded stacks, findings).
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { expect } from 'vitest';
import type { ProfileResult } from '../../bpf/bpftrace/profile/result.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { createTestCgroup, type TestCgroup } from './kernel.ts';
import { describeSteps } from './steps.ts';
import type { TestSystem } from './system.ts';

/**
 * One process at a time in a test cgroup of its own; stop() (in afterEach) kills it and removes the cgroup, its perf
 * map and whatever else it leaves in /tmp (`leftovers`: a JVM's attach socket and perf data).
 */
export class CgroupProcess {
  cg: TestCgroup | undefined;
  child: ChildProcess | undefined;

  constructor(private readonly leftovers: (pid: number) => string[] = () => []) {}

  start(label: string, command: string, args: string[]): { cg: TestCgroup; pid: number } {
    this.cg = createTestCgroup(label);
    this.child = this.cg.spawn(command, args);
    if (this.child.pid === undefined) throw new Error(`${command} did not start`);
    return { cg: this.cg, pid: this.child.pid };
  }

  stop(): void {
    this.cg?.remove();
    const pid = this.child?.pid;
    if (pid !== undefined) for (const path of [`/tmp/perf-${pid}.map`, ...this.leftovers(pid)]) rmSync(path, { recursive: true, force: true });
    this.child = undefined;
    this.cg = undefined;
  }
}

export interface ProfileRun {
  inv: Investigation;
  result: ProfileResult;
  folded: string;
}

/** Profiles the processes of `cgroupPath` for `duration`; the investigation must succeed. */
export async function profileCgroup(sys: TestSystem, cgroupPath: string, duration = '3s'): Promise<ProfileRun> {
  const res = await sys.post('/v1/investigations', { playbook: 'cpu-profile', target: { cgroup: cgroupPath }, params: { duration, hz: 99 } });
  expect(res.status).toBe(202);
  const inv = await sys.waitFor(res.json.id as string);
  expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
  const folded = await sys.get(`/v1/investigations/${inv.id}/artifacts/cpu/test-node/stacks.folded`);
  expect(folded.status).toBe(200);
  return { inv, result: inv.steps[0]!.result as ProfileResult, folded: folded.text };
}

/** Every finding's title and detail, one after the other. */
export const findingsText = (inv: Investigation): string => (inv.summary?.findings ?? []).map((f) => `${f.title}\n${f.detail}`).join('\n');
