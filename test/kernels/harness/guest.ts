/**
 * One guest run: a stock kernel booted under qemu with software emulation (TCG: KVM is present on these machines but
 * aborts), the host's root shared read-only over virtio-9p under a RAM overlay, no network device at all (only the
 * guest's loopback), and a shared folder, read-write, through which the command goes in and its exit code, output
 * and result files come back.
 *
 * The guest is a whole machine of its own: what a test does to its kernel (fs.mount-max, tracefs, cgroups, mounts,
 * kprobes) ends with it. Costs measured here: boot to the command 3–5 s; node runs 14–20× slower than on the host;
 * each bpftrace program takes 11–21 s to start (LLVM, emulated).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UnpackedKernel } from './kernel-package.ts';

const RUN_SCRIPT = fileURLToPath(new URL('run.sh', import.meta.url));

export interface GuestOptions {
  kernel: UnpackedKernel;
  initramfs: string;
  /** A shell script (run by /bin/sh in the guest): its exit code is the run's. */
  script: string;
  /** Working directory in the guest (the host's paths are the guest's). */
  cwd: string;
  env?: Record<string, string>;
  /** The shared folder on the host (created if missing): output.log, and whatever the script writes to $KMATRIX_SHARE. */
  share: string;
  memMiB?: number;
  cpus?: number;
  /** The whole run, boot included; past it qemu is killed and the run has no exit code. */
  timeoutMs?: number;
  /** Called with the script's output as it is written. */
  onOutput?: (text: string) => void;
}

export interface GuestResult {
  /** null: the guest never reported one (it did not boot, crashed, or ran out of time; see console). */
  exitCode: number | null;
  output: string;
  /** The serial console: the kernel's messages and the init's marks. */
  console: string;
  timedOut: boolean;
  /** Host wall time, and the guest's uptime when the script started and ended. */
  wallMs: number;
  bootS: number | null;
  scriptS: number | null;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export async function runInGuest(opts: GuestOptions): Promise<GuestResult> {
  const control = join(opts.share, '.kmatrix');
  mkdirSync(control, { recursive: true });
  copyFileSync(RUN_SCRIPT, join(control, 'run.sh'));
  writeFileSync(join(control, 'command.sh'), opts.script);
  writeFileSync(join(control, 'cwd'), `${opts.cwd}\n`);
  const env = Object.entries(opts.env ?? {}).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name ${k}`);
    return `export ${k}=${quote(v)}`;
  });
  writeFileSync(join(control, 'env.sh'), `${env.join('\n')}\n`);
  const outputFile = join(opts.share, 'output.log');
  writeFileSync(outputFile, '');

  const append = [
    'console=ttyS0', 'quiet', 'loglevel=4', 'panic=-1', 'oops=panic', 'rdinit=/init', 'mitigations=off',
    `kmatrix.modules=${opts.kernel.modules}`,
  ].join(' ');
  const args = [
    '-name', 'tracehound-kmatrix',
    '-accel', 'tcg,tb-size=512',
    '-cpu', 'max',
    '-smp', String(opts.cpus ?? 2),
    '-m', String(opts.memMiB ?? 2048),
    '-kernel', opts.kernel.image,
    '-initrd', opts.initramfs,
    '-append', append,
    '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-serial', 'stdio',
    '-nic', 'none', '-no-reboot',
    '-fsdev', 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    '-fsdev', `local,id=kshare,path=${opts.share},security_model=none,multidevs=remap`,
    '-device', 'virtio-9p-pci,fsdev=kshare,mount_tag=kshare',
  ];
  const t0 = performance.now();
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const consoleLog = createWriteStream(join(control, 'console.log'));
  let consoleText = '';
  const onConsole = (d: Buffer) => {
    consoleText += d.toString();
    consoleLog.write(d);
  };
  qemu.stdout.on('data', onConsole);
  qemu.stderr.on('data', onConsole);

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    qemu.kill('SIGKILL');
  }, opts.timeoutMs ?? 30 * 60_000);

  // Live output: the guest writes output.log through 9p without caching, so the host sees it as it grows.
  let shown = 0;
  const follow = () => {
    if (!opts.onOutput || !existsSync(outputFile)) return;
    const size = statSync(outputFile).size;
    if (size <= shown) return;
    const fd = openSync(outputFile, 'r');
    const buf = Buffer.alloc(size - shown);
    readSync(fd, buf, 0, buf.length, shown);
    closeSync(fd);
    shown = size;
    opts.onOutput(buf.toString());
  };
  const poll = setInterval(follow, 500);
  const code = await new Promise<number | null>((ok) => qemu.once('exit', (c) => ok(c)));
  clearTimeout(timer);
  clearInterval(poll);
  follow();
  await new Promise((ok) => consoleLog.end(ok));

  const read = (f: string) => (existsSync(join(control, f)) ? readFileSync(join(control, f), 'utf8').trim() : null);
  const exit = read('exit-code');
  const started = read('started-at');
  const ended = read('ended-at');
  return {
    exitCode: exit === null ? null : Number(exit),
    output: readFileSync(outputFile, 'utf8'),
    console: consoleText + (code !== 0 && code !== null ? `\n[qemu exited ${code}]` : ''),
    timedOut,
    wallMs: performance.now() - t0,
    bootS: started === null ? null : Number(started),
    scriptS: started === null || ended === null ? null : Number(ended) - Number(started),
  };
}
