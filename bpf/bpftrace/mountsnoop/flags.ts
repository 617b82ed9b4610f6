/**
 * Flag names for the calls mountsnoop watches, from include/uapi/linux/mount.h and fcntl.h (linux-libc-dev 6.1,
 * plus MOVE_MOUNT_BENEATH from 6.5). Committed literals: nothing reads headers at runtime.
 * The values are the same on x86_64 and arm64 (OPEN_TREE_CLOEXEC is O_CLOEXEC, which differs on alpha, parisc
 * and sparc only).
 */

type FlagTable = ReadonlyArray<readonly [name: string, bit: bigint]>;

/** mount(2) flags (MS_*), in bit order. */
const MOUNT_FLAGS: FlagTable = [
  ['MS_RDONLY', 0x1n], ['MS_NOSUID', 0x2n], ['MS_NODEV', 0x4n], ['MS_NOEXEC', 0x8n], ['MS_SYNCHRONOUS', 0x10n],
  ['MS_REMOUNT', 0x20n], ['MS_MANDLOCK', 0x40n], ['MS_DIRSYNC', 0x80n], ['MS_NOSYMFOLLOW', 0x100n],
  ['MS_NOATIME', 0x400n], ['MS_NODIRATIME', 0x800n], ['MS_BIND', 0x1000n], ['MS_MOVE', 0x2000n], ['MS_REC', 0x4000n],
  ['MS_SILENT', 0x8000n], ['MS_POSIXACL', 0x10000n], ['MS_UNBINDABLE', 0x20000n], ['MS_PRIVATE', 0x40000n],
  ['MS_SLAVE', 0x80000n], ['MS_SHARED', 0x100000n], ['MS_RELATIME', 0x200000n], ['MS_KERNMOUNT', 0x400000n],
  ['MS_I_VERSION', 0x800000n], ['MS_STRICTATIME', 0x1000000n], ['MS_LAZYTIME', 0x2000000n],
];

/** umount2(2) flags. */
const UMOUNT_FLAGS: FlagTable = [['MNT_FORCE', 0x1n], ['MNT_DETACH', 0x2n], ['MNT_EXPIRE', 0x4n], ['UMOUNT_NOFOLLOW', 0x8n]];

/** open_tree(2) flags. */
const OPEN_TREE_FLAGS: FlagTable = [
  ['OPEN_TREE_CLONE', 0x1n], ['AT_SYMLINK_NOFOLLOW', 0x100n], ['AT_NO_AUTOMOUNT', 0x800n], ['AT_EMPTY_PATH', 0x1000n],
  ['AT_RECURSIVE', 0x8000n], ['OPEN_TREE_CLOEXEC', 0x80000n],
];

/** move_mount(2) flags. */
const MOVE_MOUNT_FLAGS: FlagTable = [
  ['MOVE_MOUNT_F_SYMLINKS', 0x1n], ['MOVE_MOUNT_F_AUTOMOUNTS', 0x2n], ['MOVE_MOUNT_F_EMPTY_PATH', 0x4n],
  ['MOVE_MOUNT_T_SYMLINKS', 0x10n], ['MOVE_MOUNT_T_AUTOMOUNTS', 0x20n], ['MOVE_MOUNT_T_EMPTY_PATH', 0x40n],
  ['MOVE_MOUNT_SET_GROUP', 0x100n], ['MOVE_MOUNT_BENEATH', 0x200n],
];

export const MOUNT_SYSCALLS = ['mount', 'umount2', 'open_tree', 'move_mount'] as const;
export type MountSyscall = (typeof MOUNT_SYSCALLS)[number];

const TABLES: Readonly<Record<MountSyscall, FlagTable>> = {
  mount: MOUNT_FLAGS,
  umount2: UMOUNT_FLAGS,
  open_tree: OPEN_TREE_FLAGS,
  move_mount: MOVE_MOUNT_FLAGS,
};

/** Pre-2.4 callers put this magic in the top 16 bits of mount(2) flags; the kernel strips it. */
const MS_MGC_MSK = 0xffff0000n;
const MS_MGC_VAL = 0xc0ed0000n;

/**
 * Flag names in bit order; bits no table names stay visible as one hex remainder ("0x40000000"), since a flag
 * this table does not know yet is still part of what the caller asked for.
 */
export function flagNames(syscall: MountSyscall, flags: bigint): string[] {
  const names: string[] = [];
  let rest = flags;
  if (syscall === 'mount' && (rest & MS_MGC_MSK) === MS_MGC_VAL) {
    names.push('MS_MGC_VAL');
    rest &= ~MS_MGC_MSK;
  }
  for (const [name, bit] of TABLES[syscall]) {
    if ((rest & bit) !== 0n) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0n) names.push(`0x${rest.toString(16)}`);
  return names;
}
