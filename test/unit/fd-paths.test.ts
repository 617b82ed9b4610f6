import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveFd } from '../../workers/node-agent/fd-paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'th-fd-paths-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveFd on this very process', () => {
  it('names an open file, then says closed once it is closed', () => {
    const path = join(dir, 'open.log');
    const fd = openSync(path, 'a');
    try {
      expect(resolveFd(process.pid, fd)).toEqual({ path, state: 'open', deleted: false });
    } finally {
      closeSync(fd);
    }
    expect(resolveFd(process.pid, fd)).toEqual({ path: null, state: 'closed', deleted: false });
  });

  it('strips " (deleted)" from a file unlinked while open, and says so', () => {
    const path = join(dir, 'unlinked.log');
    const fd = openSync(path, 'a');
    try {
      unlinkSync(path);
      expect(resolveFd(process.pid, fd)).toEqual({ path, state: 'open', deleted: true });
    } finally {
      closeSync(fd);
    }
  });

  it('keeps " (deleted)" when it is part of the name of a file that still exists', () => {
    const path = join(dir, 'report (deleted)');
    const fd = openSync(path, 'a');
    try {
      expect(resolveFd(process.pid, fd)).toEqual({ path, state: 'open', deleted: false });
    } finally {
      closeSync(fd);
    }
  });

  it('names what is not a file as the kernel does', () => {
    const child = spawn('sleep', ['5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      // Node hands a child's piped stdout over as one end of a socket pair.
      expect(resolveFd(child.pid ?? 0, 1)).toEqual({ path: expect.stringMatching(/^socket:\[\d+\]$/), state: 'open', deleted: false });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reads a descriptor that was never valid (write(-1, …) fails with EBADF) as closed', () => {
    expect(resolveFd(process.pid, -1)).toEqual({ path: null, state: 'closed', deleted: false });
  });
});

describe('resolveFd for processes that are gone', () => {
  it('says exited for a pid that does not exist', () => {
    // No pid is ever above pid_max.
    const beyond = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
    expect(resolveFd(beyond, 3)).toEqual({ path: null, state: 'exited', deleted: false });
  });

  it('says exited for a zombie, whose /proc entry stays until it is reaped', async () => {
    // The shell starts a short child and becomes a sleep that never waits for it: the child stays a zombie.
    const parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = Number((await new Promise<Buffer>((r) => parent.stdout.once('data', r))).toString().trim());
      const stat = () => readFileSync(`/proc/${zombie}/stat`, 'utf8');
      for (let i = 0; i < 100 && !/\) Z /.test(stat()); i++) await new Promise((r) => setTimeout(r, 20));
      expect(stat()).toMatch(/\) Z /);
      expect(resolveFd(zombie, 1)).toEqual({ path: null, state: 'exited', deleted: false });
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('reads a stand-in procfs, so the /proc root is only a default', () => {
    expect(resolveFd(process.pid, 0, join(dir, 'no-proc'))).toEqual({ path: null, state: 'exited', deleted: false });
  });

  it('refuses what is not a pid or descriptor number', () => {
    expect(() => resolveFd(1.5, 3)).toThrow(TypeError);
    expect(() => resolveFd(process.pid, Number.NaN)).toThrow(TypeError);
  });
});
