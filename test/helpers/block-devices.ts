/**
 * Real block devices for kernel tests: loop devices over sparse files, dm-delay targets over them (a slow disk), and
 * ext4 made and mounted on them (tmpfs pages are shmem, which the page cache and ext4 probes do not see).
 *
 * Each step registers its undo as soon as it is done, so cleanup() undoes exactly what was made, newest first, even
 * when a later step failed half way; and it tries every undo before it says what it could not.
 *
 * The same in the kernel matrix's guests (test/kernels/harness/init.sh): there the root is the host's, read-only
 * under a RAM overlay, so losetup, dmsetup, blockdev and mkfs.ext4 are the host's and tmpdir() is writable; modprobe
 * is busybox's in /run/kmatrix/bin (the host has no kmod); and there is no udev, hence `dmsetup create --noudevsync`
 * and `dmsetup mknodes` for the /dev/mapper node.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { Teardown } from './incidents/teardown.ts';

const PATH = `${process.env.PATH ?? ''}:/run/kmatrix/bin:/usr/sbin:/sbin`;

/** Runs a tool (no shell: paths and names are arguments); throws with its stderr. */
function run(command: string, args: readonly string[], input?: string): string {
  return execFileSync(command, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PATH } }).trim();
}

/** A module the kernel may have built in, or the matrix's stock kernel may not have loaded yet. */
function modprobe(module: string): void {
  try {
    run('modprobe', [module]);
  } catch {
    // Built in, or absent: the step that needs it says so.
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether this kernel has the dm-delay target (loading it first). This development host has no device-mapper. */
export function hasDmDelay(): boolean {
  modprobe('dm-delay');
  try {
    return run('dmsetup', ['targets']).split('\n').some((l) => l.startsWith('delay'));
  } catch {
    return false;
  }
}

export class BlockDevices {
  private readonly teardown = new Teardown();
  private files = 0;

  /** A temp directory of the test's own: the backing files and mount points live in it, and so may its files. */
  readonly dir: string;

  /** `label` names the temp directory (th-LABEL-…) and dm targets (th-LABEL-…), to tell whose they are. */
  constructor(private readonly label: string) {
    this.dir = mkdtempSync(join(tmpdir(), `th-${label}-`));
    this.teardown.add(`remove ${this.dir}`, () => rmSync(this.dir, { recursive: true, force: true }));
  }

  /** A loop device over a new sparse file of `sizeMiB` in dir. */
  loopFile(sizeMiB: number, opts: { directIo?: boolean } = {}): string {
    const file = join(this.dir, `disk-${++this.files}.img`);
    run('truncate', ['-s', `${sizeMiB}M`, file]);
    return this.loop(file, opts);
  }

  /** A loop device over a file or another block device; with directIo its requests bypass the page cache below. */
  loop(backing: string, opts: { directIo?: boolean } = {}): string {
    modprobe('loop');
    const device = run('losetup', ['--find', '--show', ...(opts.directIo ? ['--direct-io=on'] : []), backing]);
    // Detaching a loop device still open (a lazily unmounted ext4) sets autoclear: it goes once closed.
    this.teardown.add(`detach ${device}`, () => void run('losetup', ['-d', device]));
    return device;
  }

  /** A dm-delay target over `device` delaying its reads and writes by `delayMs`; returns its /dev/mapper path. */
  delay(device: string, delayMs: number): string {
    modprobe('dm-delay');
    const name = `th-${this.label}-${randomBytes(3).toString('hex')}`;
    const sectors = run('blockdev', ['--getsz', device]);
    run('dmsetup', ['create', '--noudevsync', name], `0 ${sectors} delay ${device} 0 ${delayMs}\n`);
    // --retry: the device may be held a moment longer by a filesystem whose last user was just killed.
    this.teardown.add(`remove dm target ${name}`, () => void run('dmsetup', ['remove', '--retry', name]));
    run('dmsetup', ['mknodes', name]);
    return `/dev/mapper/${name}`;
  }

  /** Makes ext4 on `device` (quietly, over whatever was there). */
  mkfsExt4(device: string): void {
    run('mkfs.ext4', ['-q', '-F', device]);
  }

  /** Mounts the ext4 on `device` at dir/`at`; returns the mount point. */
  mountExt4(device: string, opts: { at?: string; options?: readonly string[] } = {}): string {
    modprobe('ext4');
    const mountPoint = join(this.dir, opts.at ?? 'mnt');
    mkdirSync(mountPoint);
    run('mount', ['-t', 'ext4', ...(opts.options?.length ? ['-o', opts.options.join(',')] : []), device, mountPoint]);
    this.teardown.add(`unmount ${mountPoint}`, () => unmount(mountPoint));
    return mountPoint;
  }

  /** Undoes every step made, newest first; throws naming what it could not undo, after trying all. */
  async cleanup(): Promise<void> {
    const failed = await this.teardown.run();
    if (failed.length) throw new Error(`block devices of ${this.label} left behind: ${failed.join('; ')}`);
  }
}

/**
 * A test's processes were just killed, but SIGKILL is asynchronous: the filesystem stays busy until they are gone.
 * Tries for a few seconds (longer in an emulated guest does no harm), then detaches it lazily.
 */
async function unmount(mountPoint: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (!isMounted(mountPoint)) return;
    try {
      run('umount', [mountPoint]);
      return;
    } catch {
      await sleep(100);
    }
  }
  run('umount', ['-l', mountPoint]);
}

function isMounted(mountPoint: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === mountPoint);
}

const Ext4Options = z.object({
  sizeMiB: z.number().int().min(8).max(1024).default(64),
  /** Put a dm-delay target of this many ms between the filesystem and the loop device. */
  delayMs: z.number().int().positive().max(10_000).optional(),
  mountOptions: z.array(z.string().regex(/^[\w=.:-]+$/, 'one mount option, no commas')).default([]),
});

export interface Ext4Disk {
  /** The test's temp directory: the mount point is in it; files kept off the filesystem under test may go in it. */
  dir: string;
  mountPoint: string;
  loopDevice: string;
  /** What is mounted: the loop device, or the dm-delay target over it. */
  device: string;
  cleanup(): Promise<void>;
}

/**
 * An ext4 filesystem on a loop device over a sparse file (64 MiB unless told), optionally behind dm-delay, mounted at
 * a temp dir. A step that fails undoes the ones before it and throws; cleanup() undoes them all.
 */
export async function createExt4(label: string, options: z.input<typeof Ext4Options> = {}): Promise<Ext4Disk> {
  const opts = Ext4Options.parse(options);
  const disks = new BlockDevices(label);
  try {
    const loopDevice = disks.loopFile(opts.sizeMiB);
    // Made below the delay: mkfs would otherwise wait on it for every write.
    disks.mkfsExt4(loopDevice);
    const device = opts.delayMs === undefined ? loopDevice : disks.delay(loopDevice, opts.delayMs);
    const mountPoint = disks.mountExt4(device, { options: opts.mountOptions });
    return { dir: disks.dir, mountPoint, loopDevice, device, cleanup: () => disks.cleanup() };
  } catch (err) {
    const undoFailed = await disks.cleanup().then(
      () => null,
      (undo: unknown) => undo as Error,
    );
    // The step that failed is what the test needs to hear of first; what it left behind, second.
    if (undoFailed) throw new Error(`${(err as Error).message}\n…and then: ${undoFailed.message}`, { cause: err });
    throw err;
  }
}
