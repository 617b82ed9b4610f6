import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createV1Cgroup, type V1Cgroup } from './v1-cgroup.ts';
import type { Teardown } from './teardown.ts';

/**
 * A slow disk: a loop device (direct I/O) over a file on the root disk, read by processes whose blkio cgroup may read
 * the root disk at `bytesPerSec` only. The loop driver issues its backing reads charged to the reader's cgroup, so the
 * throttle holds each loop request in flight: the slowness is seen at the block layer of the loop device, as a slow
 * volume's would be. (Throttling the loop device itself would delay bios before they become requests, invisibly to
 * block tracepoints: that was tried first.) cgroup v1 blkio, because this host's v2 hierarchy has no io controller.
 */
export interface ThrottledDisk {
  device: string;
  /** "major:minor" of the disk under the backing file, the one throttled. */
  backing: string;
  blkio: V1Cgroup;
}

const majorMinor = (dev: number) => `${(dev >> 8) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;

/** The whole disk a partition belongs to: blk-throttle takes rules for disks only. */
function wholeDisk(mm: string): string {
  const sys = `/sys/dev/block/${mm}`;
  return existsSync(join(sys, 'partition')) ? readFileSync(join(dirname(realpathSync(sys)), 'dev'), 'utf8').trim() : mm;
}

export function createThrottledDisk(t: Teardown, opts: { sizeMiB: number; bytesPerSec: number }): ThrottledDisk {
  const file = `/var/tmp/th-incident-disk-${randomBytes(3).toString('hex')}.img`;
  t.add(`remove ${file}`, () => rmSync(file, { force: true }));
  // Random bytes, written once: reads must reach the disk, and a sparse file's holes would not.
  execFileSync('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1M', `count=${opts.sizeMiB}`, 'status=none']);
  const device = execFileSync('losetup', ['--find', '--show', '--direct-io=on', file], { encoding: 'utf8' }).trim();
  t.add(`detach ${device}`, () => void execFileSync('losetup', ['-d', device]));
  const backing = wholeDisk(majorMinor(statSync(file).dev));
  const blkio = createV1Cgroup('blkio', 'disk');
  t.add(`remove ${blkio.dir}`, () => blkio.remove());
  blkio.write('blkio.throttle.read_bps_device', `${backing} ${opts.bytesPerSec}`);
  return { device, backing, blkio };
}
