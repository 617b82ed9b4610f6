import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStillRunning, parseProcStat, readProcStat, startTicksOf } from './process-stat.ts';

// A stat line as Linux writes it, with a command name holding spaces and a ")" (fields 14, 15 and 22 are 7, 5, 4242).
const statLine = (startTicks: number) =>
  `4711 (we) ird (comm) S 1 4711 4711 0 -1 4194560 120 0 0 0 7 5 0 0 20 0 1 0 ${startTicks} 10000000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;

describe('parseProcStat', () => {
  it('counts fields after the last ")", whatever the command name holds', () => {
    expect(parseProcStat(statLine(4242))).toEqual({ ticks: 12, startTicks: 4242 });
  });

  it('gives null for what is not a stat line', () => {
    expect(parseProcStat('garbage')).toBeNull();
    expect(parseProcStat('1 (x) S 1')).toBeNull();
    expect(parseProcStat('')).toBeNull();
  });
});

describe('whether the process a lock or record names still runs (a stand-in /proc)', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'th-procstat-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const proc = (pid: number, content: string) => {
    mkdirSync(join(root, String(pid)), { recursive: true });
    writeFileSync(join(root, String(pid), 'stat'), content);
  };

  it('is running when the pid is there and started when recorded, or no start time was recorded', () => {
    proc(4711, statLine(4242));
    expect(readProcStat(4711, root)).toEqual({ ticks: 12, startTicks: 4242 });
    expect(isStillRunning({ pid: 4711, startTicks: 4242 }, root)).toBe(true);
    expect(isStillRunning({ pid: 4711, startTicks: null }, root)).toBe(true);
  });

  it('is gone when the pid has no entry', () => {
    expect(readProcStat(4711, root)).toBe('gone');
    expect(isStillRunning({ pid: 4711, startTicks: 4242 }, root)).toBe(false);
    expect(startTicksOf(4711, root)).toBeNull();
  });

  it('is gone when the pid now belongs to a process that started at another time', () => {
    proc(4711, statLine(9999));
    expect(isStillRunning({ pid: 4711, startTicks: 4242 }, root)).toBe(false);
  });

  it('counts as running when the entry cannot be read or makes no sense: a live holder is never taken for dead', () => {
    mkdirSync(join(root, '4711', 'stat'), { recursive: true }); // EISDIR: read fails with an error that is not an exit
    expect(readProcStat(4711, root)).toBe('unknown');
    expect(isStillRunning({ pid: 4711, startTicks: 4242 }, root)).toBe(true);
    proc(4712, 'not a stat line');
    expect(readProcStat(4712, root)).toBe('unknown');
    expect(isStillRunning({ pid: 4712, startTicks: 4242 }, root)).toBe(true);
    expect(startTicksOf(4712, root)).toBeNull();
  });
});

describe('against the real /proc', () => {
  it('reads this process, and a child is gone once it has exited and been reaped', async () => {
    const me = readProcStat(process.pid);
    expect(typeof me).toBe('object');
    const raw = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    expect(startTicksOf(process.pid)).toBe(Number(raw.slice(raw.lastIndexOf(')') + 2).split(' ')[19]));
    expect(isStillRunning({ pid: process.pid, startTicks: startTicksOf(process.pid) })).toBe(true);
    // Same pid, a start time it never had: another process.
    expect(isStillRunning({ pid: process.pid, startTicks: startTicksOf(process.pid)! + 1 })).toBe(false);

    const child = spawn('sleep', ['30']);
    const ref = { pid: child.pid!, startTicks: startTicksOf(child.pid!) };
    expect(ref.startTicks).not.toBeNull();
    expect(isStillRunning(ref)).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(isStillRunning(ref)).toBe(false);
  });
});
