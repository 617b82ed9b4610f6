import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CapabilityError } from '../../src/core/errors.ts';
import { meaningfulStderr, runTimeBoxed, type TimeBoxOptions } from '../../workers/node-agent/time-box.ts';
import { sleep } from '../helpers/kernel.ts';
import { processGroup, timeUntilGone } from '../helpers/process-group.ts';

const PARENT = fileURLToPath(new URL('../fixtures/time-boxed-parent.ts', import.meta.url));

async function waitForFile(path: string, limitMs = 15_000): Promise<string> {
  for (const t0 = Date.now(); Date.now() - t0 < limitMs; await sleep(20)) {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (text.endsWith('\n')) return text;
  }
  throw new Error(`${path} never written`);
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // gone already
  }
}

// The time box with ordinary commands standing in for bpftrace: what matters is the signal handling.
describe('runTimeBoxed', () => {
  it('interrupts at the time box and keeps what the command printed on SIGINT', async () => {
    const run = await runTimeBoxed({
      command: 'sh',
      args: ['-c', 'trap "echo interrupted; exit 0" INT; echo started; while :; do sleep 0.05; done'],
      durationMs: 400,
      killGraceMs: 2000,
      maxOutputBytes: 1024,
    });
    expect(run.stdout).toBe('started\ninterrupted\n');
    expect(run.killed).toBe(false);
    expect(run.cancelled).toBe(false);
    const took = run.finishedAt.getTime() - run.startedAt.getTime();
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(1500);
  });

  it('counts the window from the start marker, so a slow start does not eat the capture', async () => {
    const run = await runTimeBoxed({
      command: 'sh',
      args: ['-c', 'trap "exit 0" INT; sleep 0.6; echo attached; while :; do sleep 0.05; done'],
      durationMs: 400,
      killGraceMs: 2000,
      maxOutputBytes: 1024,
      startMarker: 'attached',
    });
    expect(run.attachedAt).not.toBeNull();
    const window = run.finishedAt.getTime() - run.attachedAt!.getTime();
    expect(window).toBeGreaterThanOrEqual(400);
    expect(window).toBeLessThan(1000);
    expect(run.attachedAt!.getTime() - run.startedAt.getTime()).toBeGreaterThanOrEqual(550);
  });

  it('gives up on a command that never shows its start marker', async () => {
    const run = await runTimeBoxed({ command: 'sleep', args: ['30'], durationMs: 300, killGraceMs: 300, maxOutputBytes: 1024, startMarker: 'attached', startupMs: 300 });
    expect(run.attachedAt).toBeNull();
    expect(run.finishedAt.getTime() - run.startedAt.getTime()).toBeLessThan(2000);
  });

  it('kills a command that ignores SIGINT once the grace period is over', async () => {
    const run = await runTimeBoxed({ command: 'sh', args: ['-c', 'trap "" INT; sleep 30'], durationMs: 300, killGraceMs: 300, maxOutputBytes: 1024 });
    expect(run.killed).toBe(true);
    expect(run.finishedAt.getTime() - run.startedAt.getTime()).toBeLessThan(2000);
  });

  it('stops a command that missed its SIGINT by ending the sentinel it watches', async () => {
    // Stands in for bpftrace 0.17 having missed the signal: SIGINT does nothing, the sentinel's exit stops it.
    const watch = 'trap "" INT; echo started; while kill -0 "$1" 2>/dev/null && ! grep -q "^State:.*Z" /proc/"$1"/status; do sleep 0.02; done; echo "sentinel gone"';
    const run = await runTimeBoxed({
      command: 'sh',
      args: [],
      sentinelArgs: (pid) => ['-c', watch, 'sh', String(pid)],
      durationMs: 300,
      killGraceMs: 10_000,
      maxOutputBytes: 1024,
    });
    expect(run.killed).toBe(false);
    expect(run.stdout).toBe('started\nsentinel gone\n');
    expect(run.finishedAt.getTime() - run.startedAt.getTime()).toBeLessThan(5000);
  });

  it('ends the sentinel with the run', async () => {
    let sentinel = 0;
    await runTimeBoxed({
      command: 'true',
      args: [],
      sentinelArgs: (pid) => ((sentinel = pid), []),
      durationMs: 5000,
      killGraceMs: 1000,
      maxOutputBytes: 1024,
    });
    expect(sentinel).toBeGreaterThan(0);
    // Killed when the run closed (it would otherwise sleep for the whole box); reaped by us, so gone or a zombie.
    const alive = () => existsSync(`/proc/${sentinel}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${sentinel}/status`, 'utf8'));
    for (const t0 = Date.now(); alive() && Date.now() - t0 < 3000; ) await sleep(20);
    expect(alive()).toBe(false);
  });

  it('stops at once when cancelled, and reports it as cancelled', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const run = await runTimeBoxed({ command: 'sleep', args: ['30'], durationMs: 30_000, killGraceMs: 2000, maxOutputBytes: 1024, signal: ac.signal });
    expect(run.cancelled).toBe(true);
    expect(run.finishedAt.getTime() - run.startedAt.getTime()).toBeLessThan(1200);
  });

  it('kills a command whose output passes the cap', async () => {
    const run = await runTimeBoxed({ command: 'yes', args: [], durationMs: 10_000, killGraceMs: 1000, maxOutputBytes: 64 * 1024 });
    expect(run.outputTruncated).toBe(true);
    expect(run.stdout.length).toBeLessThanOrEqual(64 * 1024);
  });

  it('passes arguments verbatim, never through a shell', async () => {
    const run = await runTimeBoxed({ command: 'echo', args: ['$(id)', ';', 'rm -rf /'], durationMs: 5000, killGraceMs: 1000, maxOutputBytes: 1024 });
    expect(run.stdout).toBe('$(id) ; rm -rf /\n');
  });

  it('drops the harmless memlock warning from stderr', () => {
    expect(meaningfulStderr("ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace.\nreal problem\n")).toBe('real problem');
  });

  describe('never outlives the process that started it', () => {
    let dir: string;
    const groups: number[] = [];
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'time-box-'));
    });
    afterEach(() => {
      // Whatever a failed test left behind.
      for (const g of groups.splice(0)) killGroup(g);
      rmSync(dir, { recursive: true, force: true });
    });

    /** A command that writes "<its pid> <its parent's pid>" to a file, shows the start marker, then runs on. */
    const capture = (pidFile: string, traps: string): Pick<TimeBoxOptions, 'command' | 'args' | 'startMarker'> => ({
      command: 'sh',
      args: ['-c', `${traps}; echo "$$ $PPID" > "$0"; echo attached; while :; do sleep 0.1; done`, pidFile],
      startMarker: 'attached',
    });

    /** Runs the time box in a separate process (as the agent does), SIGKILLs that process once the command runs. */
    async function killParentMidCapture(opts: TimeBoxOptions, pidFile: string) {
      const parent = spawn(process.execPath, ['--import', 'tsx', PARENT, JSON.stringify(opts)], { stdio: 'ignore' });
      try {
        const [commandPid, timeoutPid] = (await waitForFile(pidFile)).trim().split(' ').map(Number) as [number, number];
        groups.push(timeoutPid); // `timeout` leads the capture's process group
        await sleep(200);
        expect(processGroup(timeoutPid).map((p) => p.pid)).toContain(commandPid);
        parent.kill('SIGKILL');
        return { commandPid, pgid: timeoutPid };
      } finally {
        parent.kill('SIGKILL');
      }
    }

    it('kills a capture that ignores every stop signal within the orphan grace of its parent dying', async () => {
      const pidFile = join(dir, 'pids');
      // The stop grace (bpftrace printing a big profile) is long; an orphan gets only the kill grace.
      const opts: TimeBoxOptions = { ...capture(pidFile, 'trap "" INT TERM'), durationMs: 20_000, killGraceMs: 15_000, orphanGraceMs: 1_000, maxOutputBytes: 1024 };
      const { pgid } = await killParentMidCapture(opts, pidFile);
      const took = await timeUntilGone(pgid, 5_000);
      expect(took, 'capture processes still alive 5 s after their parent died').not.toBeNull();
      expect(took!).toBeGreaterThanOrEqual(900); // it had its grace: SIGTERM first, SIGKILL after
      expect(took!).toBeLessThan(1_000 + 700);
    });

    it('stops a capture at once when its parent dies, without waiting for the orphan grace', async () => {
      // The command would stop on TERM; the group must be gone well before the 2 s orphan grace runs out. (Whether the
      // command ran its TERM trap is not asserted: about one run in five it is gone without having run it, cause not
      // yet found; what the issue requires, nothing outliving the agent past the grace, holds either way.)
      const pidFile = join(dir, 'pids');
      const opts: TimeBoxOptions = {
        ...capture(pidFile, 'trap "exit 0" TERM'),
        durationMs: 20_000,
        killGraceMs: 15_000,
        orphanGraceMs: 2_000,
        maxOutputBytes: 1024,
      };
      const { pgid } = await killParentMidCapture(opts, pidFile);
      const took = await timeUntilGone(pgid, 5_000);
      expect(took, 'capture processes still alive 5 s after their parent died').not.toBeNull();
      expect(took!).toBeLessThan(700);
    });

    it('kills the command at once when `timeout` itself is SIGKILLed', async () => {
      const pidFile = join(dir, 'pids');
      const run = runTimeBoxed({ ...capture(pidFile, 'trap "" INT TERM'), durationMs: 20_000, killGraceMs: 2_000, maxOutputBytes: 1024 });
      const [commandPid, timeoutPid] = (await waitForFile(pidFile)).trim().split(' ').map(Number) as [number, number];
      groups.push(timeoutPid);
      process.kill(timeoutPid, 'SIGKILL');
      const took = await timeUntilGone(timeoutPid, 3_000);
      expect(took, `command ${commandPid} outlived its timeout`).not.toBeNull();
      expect(took!).toBeLessThan(500);
      expect(await run).toMatchObject({ killed: true, signal: 'SIGKILL' });
    });

    it('refuses to run without setpriv rather than run a capture that could outlive the agent', async () => {
      // A PATH with what the time box runs, except setpriv.
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      for (const tool of ['timeout', 'sleep', 'sh']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
      const run = runTimeBoxed({ command: 'sleep', args: ['5'], durationMs: 300, killGraceMs: 300, maxOutputBytes: 1024, env: { PATH: bin } });
      await expect(run).rejects.toBeInstanceOf(CapabilityError);
      await expect(run).rejects.toThrow(/setpriv \(util-linux\) is not installed/);
    });

    it('keeps the long stop grace while its parent lives: the orphan grace applies only once it is gone', async () => {
      const run = await runTimeBoxed({
        command: 'sh',
        args: ['-c', 'trap "sleep 1.2; echo printed; exit 0" INT; echo attached; while :; do sleep 0.05; done'],
        startMarker: 'attached',
        durationMs: 300,
        killGraceMs: 4_000,
        orphanGraceMs: 300,
        maxOutputBytes: 1024,
      });
      expect(run.killed).toBe(false);
      expect(run.stdout).toBe('attached\nprinted\n');
    });
  });
});

