/**
 * A block I/O workload for the block tools' kernel tests (biosnoop, biolatency): a python process writes then reads
 * 64 KiB with O_DIRECT at successive offsets of a device, every 20 ms, for 120 s, so each loop makes exactly one
 * write request and one read request. Two processes on one device use disjoint ranges: the programs match requests
 * by (device, sector), so two requests for one sector in flight at once would be taken for one.
 *
 * Windows are counted in the workload's write calls, not in seconds: a guest under software emulation, beside
 * another one, once made 12 requests in a 3 s window.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { TestCgroup } from './kernel.ts';

const WORKLOAD = `
import mmap, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_DIRECT)
base = int(sys.argv[2])
buf = mmap.mmap(-1, 65536)
buf.write(b'x' * 65536)
end = time.time() + 120
i = 0
while time.time() < end:
    off = (base + i % 256) * 65536
    os.pwritev(fd, [buf], off)
    os.preadv(fd, [buf], off)
    i += 1
    time.sleep(0.02)
`;

/** 64 KiB blocks per process: 256 of them, 16 MiB, half of a 32 MiB test device. */
export const BLOCKS_PER_PROCESS = 256;

/** Starts the workload on `dev` from block `base`, in `cgroup` when given; the caller kills it. */
export function startDirectIo(dir: string, dev: string, opts: { cgroup?: TestCgroup; base?: number } = {}): ChildProcess {
  const script = join(dir, 'direct-io-load.py');
  writeFileSync(script, WORKLOAD);
  const args = [script, dev, String(opts.base ?? 0)];
  return opts.cgroup ? opts.cgroup.spawn('python3', args) : spawn('python3', args, { stdio: 'ignore' });
}

/** Write calls the process has made so far (`syscw` in /proc/<pid>/io): each loop of the workload makes one. */
export const writeCalls = (p: ChildProcess): number => Number(/^syscw: (\d+)$/m.exec(readFileSync(`/proc/${p.pid}/io`, 'utf8'))?.[1] ?? 0);

/** Waits until each process has made its first write call: python's start-up under emulation takes seconds. */
export async function untilIssuing(procs: ChildProcess[]): Promise<void> {
  for (let i = 0; i < 600 && !procs.every((p) => writeCalls(p) > 0); i++) await new Promise((r) => setTimeout(r, 50));
  for (const p of procs) expect(writeCalls(p), `pid ${p.pid} made no write call within 30 s`).toBeGreaterThan(0);
}

/** A capture window that ends once `p` has made `writes` more write calls (each followed by a read), or after 30 s. */
export const forWrites = (p: ChildProcess, writes: number) => async (): Promise<void> => {
  const from = writeCalls(p);
  for (let i = 0; i < 600 && writeCalls(p) - from < writes; i++) await new Promise((r) => setTimeout(r, 50));
  expect(writeCalls(p) - from, `pid ${p.pid} made too few write calls in 30 s`).toBeGreaterThanOrEqual(writes);
};
