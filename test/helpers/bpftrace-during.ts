/**
 * Runs a bpftrace program for exactly as long as a workload: starts it, waits until its probes are attached, runs
 * the workload, then stops it (SIGINT, which makes bpftrace print its maps) and returns what it printed. For kernel
 * tests that assert what a program saw of a workload they started themselves; the agent's own path is the time box
 * (runTimeBoxed), whose window is fixed in advance and so cannot be lined up with a workload.
 */
import { spawn } from 'node:child_process';
import type { TestCgroup } from './kernel.ts';

export interface DuringRun<T> {
  stdout: string;
  stderr: string;
  workload: T;
}

export async function runBpftraceDuring<T>(
  programFile: string,
  args: string[],
  env: Record<string, string>,
  workload: () => Promise<T>,
  // Under emulation bpftrace takes 11–21 s to load a program; on a loaded machine more.
  startupMs = 180_000,
): Promise<DuringRun<T>> {
  const child = spawn('bpftrace', ['-f', 'json', programFile, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  let exited = false;
  void closed.then(() => (exited = true));
  try {
    const started = Date.now();
    while (!stdout.includes('"attached_probes"')) {
      if (exited) throw new Error(`bpftrace exited before attaching: ${stderr}`);
      if (Date.now() - started > startupMs) throw new Error(`bpftrace did not attach within ${startupMs} ms: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const result = await workload();
    // bpftrace 0.17 can miss a SIGINT (see workers/node-agent/time-box.ts): repeat it, then kill.
    for (let i = 0; i < 12 && !exited; i++) {
      child.kill('SIGINT');
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000))]);
    }
    if (!exited) throw new Error(`bpftrace did not stop on SIGINT: ${stderr}`);
    return { stdout, stderr, workload: result };
  } finally {
    if (!exited) child.kill('SIGKILL');
  }
}

/** Runs a command in a test cgroup and resolves with its stdout once it exits 0 (rejects otherwise). */
export function runIn(cgroup: TestCgroup | null, command: string, args: string[]): Promise<string> {
  const child =
    cgroup === null
      ? spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : // The shell moves itself into the cgroup, then becomes the command: nothing runs outside it.
        spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup.dir, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}
