import { shellWord } from '../core/format.ts';
import type { NextStep } from '../core/investigation.ts';
import type { FailingFile } from '../../bpf/failing-file.ts';

/** Syscalls handed the descriptor of the file they write to or act on (the ones syscount resolves to a path). */
const WRITES = new Set([
  'write', 'pwrite64', 'writev', 'pwritev', 'pwritev2', 'fallocate', 'ftruncate', 'fsync', 'fdatasync', 'sync_file_range',
  'copy_file_range', 'sendfile', 'splice', 'msync',
]);
/** Syscalls that create a name in a directory: they fail for want of space or of inodes. */
const CREATES = new Set([
  'open', 'openat', 'openat2', 'creat', 'mkdir', 'mkdirat', 'mknod', 'mknodat', 'symlink', 'symlinkat', 'link', 'linkat',
  'rename', 'renameat', 'renameat2', 'truncate',
]);

export interface FailingCall {
  syscall: string;
  errno: string;
  pid: number;
  /** The descriptor that failed most, when the syscall takes one. */
  file?: FailingFile;
}

/** Commands that look at a path as the process sees it: its mount namespace may not be the host's. */
const inNs = (pid: number, command: string) => `nsenter -t ${pid} -m ${command}`;

function fileCommands(c: FailingCall): string[] {
  const { pid, file } = c;
  const target = file?.state === 'open' && file.path?.startsWith('/') ? shellWord(file.path) : null;
  const fd = file ? [`ls -l /proc/${pid}/fd/${file.fd}`] : [`ls -l /proc/${pid}/fd`];
  return target ? [...fd, inNs(pid, `df -h ${target}`), inNs(pid, `df -i ${target}`)] : [...fd, `findmnt -N ${pid} -o TARGET,FSTYPE,SIZE,USED,AVAIL,USE%`];
}

/**
 * What to run and what usually fixes it, for one failing syscall: the field's answers for the errors that mean
 * "a limit was reached", and for any other a way to watch the calls fail.
 */
export function nextStepFor(c: FailingCall): NextStep {
  const { syscall, errno, pid } = c;
  if (errno === 'ENOSPC' && syscall === 'mount') {
    return {
      commands: [`wc -l < /proc/${pid}/mountinfo`, 'sysctl fs.mount-max', `findmnt -N ${pid} -o TARGET,SOURCE,FSTYPE | sort | uniq -c | sort -rn | head`],
      remedy:
        'Find what keeps adding mounts to this namespace: one mount point repeated many times is the sign of bind mounts ' +
        'made with MS_BIND|MS_REC and detached with MNT_DETACH (umount -l) instead of unmounted, which keep propagating ' +
        '(docker cp into a container with a bind-mounted host path did exactly this). Fix that, then unmount the leaked ' +
        'mounts. Raising fs.mount-max is only a stopgap.',
    };
  }
  if (errno === 'ENOSPC' && syscall === 'inotify_add_watch') {
    return {
      commands: [`cat /proc/sys/fs/inotify/max_user_watches`, inNs(pid, 'cat /proc/sys/user/max_inotify_watches'), `grep -c '^inotify' /proc/${pid}/fdinfo/*`],
      remedy:
        'Raise fs.inotify.max_user_watches (user.max_inotify_watches in the user namespace of the process), or fix the ' +
        'watcher that watches far more files than it needs (a recursive watch over a large tree).',
    };
  }
  const onFiles = WRITES.has(syscall) || CREATES.has(syscall);
  if (errno === 'ENOSPC' && onFiles) {
    return {
      commands: fileCommands(c),
      remedy:
        'Free space on that filesystem (rotate or delete what fills it; a deleted file still held open keeps its space ' +
        "until closed: find /proc/*/fd -lname '*(deleted)'), or grow it. Creating files also fails when it runs out of " +
        'inodes (df -i).',
    };
  }
  if (errno === 'EDQUOT' && onFiles) {
    return {
      commands: [...fileCommands(c), inNs(pid, 'quota -v')],
      remedy: 'A disk quota of this user (or project) on that filesystem is used up: raise it (setquota, xfs_quota) or free space under it.',
    };
  }
  if (errno === 'EROFS') {
    return {
      commands: [...fileCommands(c).slice(0, 1), `findmnt -N ${pid} -o TARGET,OPTIONS | grep -w ro`, "dmesg | grep -iE 'remount|read-only'"],
      remedy: 'The filesystem is mounted read-only, perhaps remounted after I/O errors (errors=remount-ro): check the kernel log, repair the filesystem, then remount it read-write.',
    };
  }
  if (errno === 'EMFILE') {
    return {
      commands: [`ls /proc/${pid}/fd | wc -l`, `grep 'open files' /proc/${pid}/limits`, `ls -l /proc/${pid}/fd | awk '{print $NF}' | sed 's/[0-9]*]$//' | sort | uniq -c | sort -rn | head`],
      remedy: 'The process reached its open-file limit (RLIMIT_NOFILE): find the descriptor leak (many descriptors of one kind), or raise the limit (LimitNOFILE=, ulimit -n).',
    };
  }
  if (errno === 'ENFILE') {
    return {
      commands: ['cat /proc/sys/fs/file-nr', 'sysctl fs.file-max'],
      remedy: 'The whole node ran out of file handles (fs.file-max): find the process holding most descriptors, or raise fs.file-max.',
    };
  }
  // Any other failure: watch it happen, and read when the syscall returns this errno.
  return {
    commands: [`strace -f -p ${pid} -e trace=${syscall} -e status=failed`, `man 2 ${syscall}`],
    remedy: `The ERRORS section of ${syscall}(2) says when it returns ${errno}; the failing calls' arguments (strace) say which case this is.`,
  };
}

/**
 * "/tmp/full/y (fd 3)", "fd 1, closed or replaced after it failed": the file a failing call was given, in words.
 * A shell's `echo x >> f` points fd 1 at f for one command only: by the end of the capture it names something else,
 * which syscount sees (close, dup2) and says instead of a wrong path.
 */
export function fileText(f: FailingFile): string {
  if (f.state === 'open') return `${f.path ?? `fd ${f.fd}`}${f.deleted ? ' (deleted)' : ''} (fd ${f.fd})`;
  return `fd ${f.fd}, ${f.state === 'closed' ? 'closed or replaced after it failed' : 'its process exited before the capture ended'}`;
}
