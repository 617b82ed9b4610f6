import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CGROUP_ROOT = existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';

export interface TestCgroup {
  /** Path below the cgroup v2 root, as a request's target.cgroup. */
  path: string;
  dir: string;
  /** The cgroup id bpftrace's `cgroup` builtin reports: the directory's inode. */
  id: number;
  /** Runs a command whose process (and its children) live in this cgroup. */
  spawn(command: string, args: string[]): ChildProcess;
  remove(): void;
}

/** A real child cgroup under the v2 root; remove() kills what is left in it and removes it. */
export function createTestCgroup(label: string): TestCgroup {
  const path = `/tracehound-test-${label}-${randomBytes(3).toString('hex')}`;
  const dir = join(CGROUP_ROOT, path);
  mkdirSync(dir);
  return {
    path,
    dir,
    id: statSync(dir).ino,
    spawn(command, args) {
      // The shell moves itself into the cgroup, then becomes the command: nothing runs outside it.
      return spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, command, ...args], { stdio: 'ignore' });
    },
    remove() {
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
          execFileSync('sleep', ['0.1']);
        }
      }
    },
  };
}

/** A private tmpfs of the given size, so filling it cannot touch the machine's real disks. */
export function mountTmpfs(sizeKiB: number): { dir: string; unmount(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'th-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', dir]);
  return {
    dir,
    unmount() {
      try {
        execFileSync('umount', ['-l', dir]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export function bpftracePids(): number[] {
  try {
    return execFileSync('pgrep', ['-x', 'bpftrace'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

export function processRunning(pattern: string): boolean {
  try {
    execFileSync('pgrep', ['-f', pattern], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Compiles test/fixtures/burner.c (burns CPU in crunch_alpha, less in crunch_beta) into a temp dir. Frame pointers
 * make user stacks walkable by the kernel's unwinder; -O0 because at -O1 gcc still drops the frame of a leaf
 * function, and main would vanish from the stacks.
 */
export function compileBurner(): { exe: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'th-burner-'));
  const exe = join(dir, 'th-burner');
  execFileSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-o', exe, fileURLToPath(new URL('../fixtures/burner.c', import.meta.url))]);
  return { exe, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
