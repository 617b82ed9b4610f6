import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createExt4 } from '../helpers/block-devices.ts';

/** Mount point → [filesystem type, source], from this process's mount namespace. */
function mounts(): Map<string, [string, string]> {
  const rows = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean);
  return new Map(
    rows.map((l) => {
      const [before = '', after = ''] = l.split(' - ');
      const [fstype = '', source = ''] = after.split(' ');
      return [before.split(' ')[4] ?? '', [fstype, source]];
    }),
  );
}

/** What a loop device is attached to, or null when it is detached. */
function loopBacking(device: string): string | null {
  const file = `/sys/block/${basename(device)}/loop/backing_file`;
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : null;
}

/** Every loop device attached to a file below `dir`. */
function loopsUnder(dir: string): string[] {
  return readdirSync('/sys/block')
    .filter((d) => d.startsWith('loop'))
    .filter((d) => loopBacking(`/dev/${d}`)?.startsWith(dir));
}

/**
 * The kernel tests' block devices (test/helpers/block-devices.ts) on this host: a loop-backed ext4 that is real and
 * goes away whole, and a set-up that fails half way leaving nothing behind. (The dm-delay layer needs device-mapper,
 * which this host lacks: ext4slower and biosnoop use it in the kernel matrix's guests.)
 */
describe('block devices for kernel tests', () => {
  it('mounts ext4 on a loop device over a sparse file in a temp dir, and cleanup undoes it all', async () => {
    const disk = await createExt4('blk-test', { sizeMiB: 16 });
    try {
      expect(disk.device).toBe(disk.loopDevice);
      expect(mounts().get(disk.mountPoint)).toEqual(['ext4', disk.loopDevice]);
      expect(loopBacking(disk.loopDevice)).toMatch(new RegExp(`^${disk.dir}/disk-1\\.img$`));
      // A file written and fsynced there is on the filesystem, not in the temp dir's.
      const fd = openSync(join(disk.mountPoint, 'f'), 'w');
      writeSync(fd, 'x'.repeat(4096));
      fsyncSync(fd);
      closeSync(fd);
      expect(readFileSync(join(disk.mountPoint, 'f'), 'utf8')).toHaveLength(4096);
      expect(readdirSync(disk.mountPoint).sort()).toEqual(['f', 'lost+found']);
    } finally {
      await disk.cleanup();
    }
    expect(mounts().has(disk.mountPoint)).toBe(false);
    expect(loopBacking(disk.loopDevice) ?? '').not.toContain(disk.dir);
    expect(existsSync(disk.dir)).toBe(false);
  });

  it('unmounts a filesystem a process still holds a file open on, once it lets go', async () => {
    const disk = await createExt4('blk-test', { sizeMiB: 16 });
    const fd = openSync(join(disk.mountPoint, 'held'), 'w');
    const done = disk.cleanup();
    // umount is refused while the file is open; the helper retries for seconds before it would go lazy.
    setTimeout(() => closeSync(fd), 300);
    await done;
    expect(mounts().has(disk.mountPoint)).toBe(false);
    expect(loopsUnder(disk.dir)).toEqual([]);
    expect(existsSync(disk.dir)).toBe(false);
  });

  it('undoes the steps already done when a later one fails (here the mount), and says which failed', async () => {
    const label = `blk-fail-${randomBytes(3).toString('hex')}`;
    const ours = () => readdirSync(tmpdir()).filter((d) => d.startsWith(`th-${label}-`));
    const err = await createExt4(label, { sizeMiB: 16, mountOptions: ['th-no-such-option'] }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/^Command failed: mount -t ext4 -o th-no-such-option \/dev\/loop\d+ /);
    // The loop device (with ext4 made on it), the backing file and the temp dir were made, then undone.
    expect(ours()).toEqual([]);
    expect(loopsUnder(join(tmpdir(), `th-${label}-`))).toEqual([]);
  });

  it('refuses options that would not make a test disk, before touching the kernel', async () => {
    await expect(createExt4('blk-test', { sizeMiB: 0 })).rejects.toThrow(/sizeMiB/);
    await expect(createExt4('blk-test', { mountOptions: ['ro,sync'] })).rejects.toThrow(/one mount option/);
  });
});
