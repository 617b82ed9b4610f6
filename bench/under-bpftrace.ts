import { spawn } from 'node:child_process';

/**
 * Runs `measure` while a bpftrace program is attached: from its "attached_probes" line until SIGINT (then SIGKILL
 * after `stopMs`). The overhead benches time a workload inside this span against the same workload outside it.
 */
export async function underBpftrace<T>(args: string[], measure: () => T, opts: { env?: Record<string, string>; stopMs: number }): Promise<T> {
  const bt = spawn('bpftrace', ['-f', 'json', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const exited = new Promise<number | null>((resolve) => bt.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('bpftrace did not attach within 60 s')), 60_000);
    bt.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('"attached_probes"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    bt.once('exit', (code) => reject(new Error(`bpftrace exited (${code}) before attaching`)));
  });
  try {
    return measure();
  } finally {
    // Whatever it prints while stopping is read and dropped: a full pipe would hold its exit up.
    bt.stdout.resume();
    bt.kill('SIGINT');
    if (!(await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), opts.stopMs))]))) bt.kill('SIGKILL');
  }
}
