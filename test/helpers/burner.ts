import type { ChildProcess } from 'node:child_process';
import { compileBurner, createTestCgroup, type TestCgroup } from './kernel.ts';

/** A CPU burner (test/fixtures/burner.c: main → crunch_* on the stacks) and a test cgroup of its own to run in. */
export interface BurnerCgroup {
  /** The cgroup, whose path is the investigation's target. */
  cg: TestCgroup;
  /** Starts a burner process in the cgroup. */
  start(): ChildProcess;
  /** Kills the burners started, removes the cgroup and the compiled program. */
  remove(): void;
}

/** Compiles the burner and makes the cgroup `label` (createTestCgroup); nothing burns until start(). */
export function createBurnerCgroup(label: string): BurnerCgroup {
  const built = compileBurner();
  let cg: TestCgroup;
  try {
    cg = createTestCgroup(label);
  } catch (err) {
    built.remove();
    throw err;
  }
  const started: ChildProcess[] = [];
  return {
    cg,
    start() {
      const p = cg.spawn(built.exe, []);
      started.push(p);
      return p;
    },
    remove() {
      for (const p of started) p.kill('SIGKILL');
      cg.remove();
      built.remove();
    },
  };
}
