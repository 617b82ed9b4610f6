import { describe, expect, it } from 'vitest';
import { meaningfulStderr, runTimeBoxed } from '../../workers/node-agent/time-box.ts';

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
});
