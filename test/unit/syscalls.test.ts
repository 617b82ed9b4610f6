import { describe, it, expect } from 'vitest';
import { syscallName } from '../../bpf/syscalls.ts';

describe('syscallName on x64', () => {
  it('uses the x86_64 numbering', () => {
    expect(syscallName('x64', 0)).toBe('read');
    expect(syscallName('x64', 1)).toBe('write');
    expect(syscallName('x64', 18)).toBe('pwrite64');
    expect(syscallName('x64', 202)).toBe('futex');
    expect(syscallName('x64', 257)).toBe('openat');
    expect(syscallName('x64', 262)).toBe('newfstatat');
    expect(syscallName('x64', 285)).toBe('fallocate');
    expect(syscallName('x64', 332)).toBe('statx');
    expect(syscallName('x64', 334)).toBe('rseq');
    expect(syscallName('x64', 435)).toBe('clone3');
    expect(syscallName('x64', 450)).toBe('set_mempolicy_home_node');
  });

  it('knows syscalls added after the 6.1 headers', () => {
    expect(syscallName('x64', 335)).toBe('uretprobe');
    expect(syscallName('x64', 336)).toBe('uprobe');
    expect(syscallName('x64', 451)).toBe('cachestat');
    expect(syscallName('x64', 462)).toBe('mseal');
    expect(syscallName('x64', 469)).toBe('file_setattr');
  });

  it('falls back to syscall_<n> for gaps and out-of-range numbers', () => {
    expect(syscallName('x64', 337)).toBe('syscall_337');
    expect(syscallName('x64', 423)).toBe('syscall_423');
    expect(syscallName('x64', 1000)).toBe('syscall_1000');
    expect(syscallName('x64', -1)).toBe('syscall_-1');
  });
});

describe('syscallName on arm64', () => {
  it('uses the asm-generic numbering', () => {
    expect(syscallName('arm64', 0)).toBe('io_setup');
    expect(syscallName('arm64', 56)).toBe('openat');
    expect(syscallName('arm64', 57)).toBe('close');
    expect(syscallName('arm64', 63)).toBe('read');
    expect(syscallName('arm64', 64)).toBe('write');
    expect(syscallName('arm64', 98)).toBe('futex');
    expect(syscallName('arm64', 221)).toBe('execve');
    expect(syscallName('arm64', 435)).toBe('clone3');
  });

  it('includes the 64-bit and arm64-wanted variants', () => {
    expect(syscallName('arm64', 25)).toBe('fcntl');
    expect(syscallName('arm64', 38)).toBe('renameat');
    expect(syscallName('arm64', 62)).toBe('lseek');
    expect(syscallName('arm64', 79)).toBe('newfstatat');
    expect(syscallName('arm64', 80)).toBe('fstat');
    expect(syscallName('arm64', 163)).toBe('getrlimit');
    expect(syscallName('arm64', 222)).toBe('mmap');
    expect(syscallName('arm64', 223)).toBe('fadvise64');
    expect(syscallName('arm64', 447)).toBe('memfd_secret');
    expect(syscallName('arm64', 462)).toBe('mseal');
  });

  it('has no x86-only syscalls and no placeholder for the arch-specific range', () => {
    expect(syscallName('arm64', 335)).toBe('syscall_335');
    expect(syscallName('arm64', 244)).toBe('syscall_244');
    expect(syscallName('arm64', 300)).toBe('syscall_300');
  });
});

describe('syscallName on other architectures', () => {
  it('falls back to syscall_<n>', () => {
    expect(syscallName('riscv64', 63)).toBe('syscall_63');
    expect(syscallName('x86_64', 0)).toBe('syscall_0');
    expect(syscallName('__proto__', 0)).toBe('syscall_0');
    expect(syscallName('constructor', 1)).toBe('syscall_1');
  });
});
