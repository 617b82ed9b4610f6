import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestCgroup } from '../kernel.ts';

/**
 * A cgroup in a v1 controller hierarchy (memory, cpu, blkio). On a hybrid host the v2 hierarchy has no controllers
 * (its cgroup.controllers is empty), so limits are set in v1 while the v2 cgroup (createTestCgroup) stays the target:
 * a process belongs to one cgroup in each hierarchy at once.
 */
export type V1Controller = 'memory' | 'cpu' | 'blkio';

export interface V1Cgroup {
  dir: string;
  read(file: string): string;
  write(file: string, value: string): void;
  remove(): Promise<void>;
}

export const V1_ROOT = '/sys/fs/cgroup';

/** Whether this host mounts the controller as a v1 hierarchy. */
export const hasV1Controller = (c: V1Controller) => existsSync(join(V1_ROOT, c, 'cgroup.procs'));

export function createV1Cgroup(controller: V1Controller, label: string): V1Cgroup {
  if (!hasV1Controller(controller)) throw new Error(`no cgroup v1 ${controller} hierarchy at ${join(V1_ROOT, controller)}`);
  const dir = join(V1_ROOT, controller, `tracehound-incident-${label}-${randomBytes(3).toString('hex')}`);
  mkdirSync(dir);
  return {
    dir,
    read: (file) => readFileSync(join(dir, file), 'utf8'),
    write: (file, value) => writeFileSync(join(dir, file), value),
    async remove() {
      // Whatever is left in it is killed first (a v1 cgroup can be removed only once its tasks are gone), whichever of
      // the v1 and v2 cgroups is removed first.
      for (let i = 0; i < 50 && existsSync(dir); i++) {
        for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // gone already
          }
        }
        try {
          rmdirSync(dir);
        } catch {
          await sleep(100);
        }
      }
      if (existsSync(dir)) throw new Error(`could not remove ${dir}: ${readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() || 'busy'}`);
    },
  };
}

/** Runs a command whose process (and its children) live in the v2 test cgroup and in each v1 cgroup given. */
export function spawnInCgroups(cg: TestCgroup, v1: V1Cgroup[], command: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const dirs = [cg.dir, ...v1.map((c) => c.dir)];
  // The shell moves itself into every cgroup, then becomes the command: nothing runs outside them.
  const moves = dirs.map((_, i) => `echo $$ > "$${i + 1}/cgroup.procs"`).join(' && ');
  return spawn('sh', ['-c', `${moves} && shift ${dirs.length} && exec "$@"`, 'sh', ...dirs, command, ...args], { stdio: 'ignore', ...(env ? { env } : {}) });
}
