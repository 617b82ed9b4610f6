import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runTimeBoxed, type SampleMoment } from '../../workers/node-agent/time-box.ts';

/*
 * The looks the time box gives a measurement (capture-cost.ts): at the window's marker, during it, just before the
 * stop and until the command is gone, always at the command's own pid (not `timeout`'s), never breaking the run.
 */
describe('runTimeBoxed looks at the command while it runs', () => {
  it('at the marker, in the window, before the stop and while it exits, in that order', async () => {
    const looks: { pid: number; moment: SampleMoment; comm: string }[] = [];
    const run = await runTimeBoxed({
      command: 'sh',
      // The shell prints the marker, then waits; SIGINT ends it after a short while of "printing".
      args: ['-c', 'trap "sleep 0.2; exit 0" INT; echo attached; while :; do sleep 0.05; done'],
      durationMs: 600,
      killGraceMs: 3000,
      maxOutputBytes: 1024,
      startMarker: 'attached',
      startupMs: 5000,
      onSample: (pid, moment) => {
        let comm = '';
        try {
          comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        } catch {
          // gone
        }
        looks.push({ pid, moment, comm });
      },
    });
    expect(run.killed).toBe(false);
    expect(run.attachedAt).not.toBeNull();
    expect(run.stoppedAt!.getTime()).toBeGreaterThanOrEqual(run.attachedAt!.getTime() + 590);
    const moments = looks.map((l) => l.moment);
    expect(moments[0]).toBe('attached');
    // 100 ms looks in the window's first seconds.
    expect(moments.filter((m) => m === 'window').length).toBeGreaterThanOrEqual(3);
    expect(moments.filter((m) => m === 'stopping')).toHaveLength(1);
    const stop = moments.indexOf('stopping');
    expect(moments.slice(0, stop).every((m) => m === 'attached' || m === 'window')).toBe(true);
    expect(moments.slice(stop + 1).every((m) => m === 'exiting')).toBe(true);
    // It takes 200 ms to exit, looked at every 25 ms.
    expect(moments.filter((m) => m === 'exiting').length).toBeGreaterThanOrEqual(3);
    expect(new Set(looks.map((l) => l.pid)).size).toBe(1);
    expect(looks[0]!.comm).toBe('sh');
  });

  it('a measurement that throws does not break the run', async () => {
    const run = await runTimeBoxed({
      command: 'sleep',
      args: ['5'],
      durationMs: 300,
      killGraceMs: 1000,
      maxOutputBytes: 1024,
      onSample: () => {
        throw new Error('broken meter');
      },
    });
    expect(run.signal ?? run.exitCode).not.toBeNull();
    expect(run.killed).toBe(false);
    expect(run.stoppedAt).not.toBeNull();
  });
});
