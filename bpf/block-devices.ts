/** Block devices by number (dev_t as block tracepoints report it): shared by biolatency and biosnoop. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Kernel-internal dev_t, as block tracepoints report it: 12 bits of major above 20 bits of minor. */
const MINOR_BITS = 20;

export function splitDev(dev: number): { major: number; minor: number } {
  return { major: Math.floor(dev / 2 ** MINOR_BITS), minor: dev % 2 ** MINOR_BITS };
}

/** Names a block device by number, or null when it is gone (a detached loop device) or not a block device. */
export type DeviceNamer = (major: number, minor: number) => string | null;

/** Reads DEVNAME from sysfs' uevent for the device (what udev names it under /dev); cached per namer. */
export function sysfsDeviceNamer(sysRoot = '/sys'): DeviceNamer {
  const cache = new Map<string, string | null>();
  return (major, minor) => {
    const id = `${major}:${minor}`;
    if (!cache.has(id)) cache.set(id, readDevName(join(sysRoot, 'dev', 'block', id, 'uevent')));
    return cache.get(id) ?? null;
  };
}

function readDevName(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const m = /^DEVNAME=(.+)$/m.exec(text);
  return m?.[1] ?? null;
}
