import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BpfStatsRecord, BpfStatsSwitch, restoreBpfStatsLeftByDeadAgent } from '../../workers/node-agent/bpf-stats.ts';
import { readProcessCpu } from '../../workers/node-agent/process-cpu.ts';

// Node itself with tsx's loader (not the tsx wrapper, whose child would outlive a SIGKILL of the wrapper).
const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const TS = ['--import', 'tsx'];
const SWITCH = fileURLToPath(new URL('../../workers/node-agent/bpf-stats.ts', import.meta.url));

let dir: string;
let file: string;
let records: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'th-bpfstats-'));
  file = join(dir, 'bpf_stats_enabled');
  records = join(dir, 'records');
  writeFileSync(file, '0\n');
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
const value = () => readFileSync(file, 'utf8').trim();
const switchOf = () => new BpfStatsSwitch(file, { recordDir: records });
const recordFiles = () => (existsSync(records) ? readdirSync(records).filter((n) => n.endsWith('.json')) : []);
const readRecords = () => recordFiles().map((n) => BpfStatsRecord.parse(JSON.parse(readFileSync(join(records, n), 'utf8'))));

/** The switch in a process of its own, as another agent: it turns statistics on for one capture and says so. */
function holderScript(then: 'wait' | 'exit'): string {
  const script = join(dir, `holder-${then}.mts`);
  writeFileSync(
    script,
    `import { BpfStatsSwitch } from ${JSON.stringify(SWITCH)};\n` +
      `const lease = new BpfStatsSwitch(${JSON.stringify(file)}, { recordDir: ${JSON.stringify(records)} }).acquire();\n` +
      `if (!lease.enabled) { console.error(lease.reason); process.exit(3); }\n` +
      (then === 'wait' ? `process.stdout.write('on\\n');\nsetInterval(() => {}, 60_000);\n` : `process.exit(0);\n`),
  );
  return script;
}

/** Another agent holding statistics on for a capture; resolves once they are on. */
async function startHolder(): Promise<ChildProcess> {
  const child = spawn(NODE, [...TS, holderScript('wait')], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`holder exited ${code}: ${err}`)));
  });
  return child;
}

async function sigkill(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

function captureLog() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

describe('kernel.bpf_stats_enabled, switched per capture', () => {
  it('is on from the first capture to the end of the last, then back as it was', () => {
    const stats = switchOf();
    const a = stats.acquire();
    expect(a.enabled).toBe(true);
    expect(value()).toBe('1');
    const b = stats.acquire();
    a.release();
    a.release(); // twice counts once
    expect(value()).toBe('1');
    expect(stats.inUse).toBe(1);
    b.release();
    expect(value()).toBe('0');
    expect(stats.inUse).toBe(0);
  });

  it('leaves a setting someone else turned on as it was', () => {
    writeFileSync(file, '1\n');
    const stats = switchOf();
    stats.acquire().release();
    expect(value()).toBe('1');
    expect(recordFiles()).toEqual([]);
  });

  it('puts it back when the agent stops with a capture still holding it', () => {
    const stats = switchOf();
    stats.acquire();
    stats.restore();
    expect(value()).toBe('0');
    expect(recordFiles()).toEqual([]);
  });

  it('measures without it where it cannot be changed, saying why, and leaves no record', () => {
    const stats = new BpfStatsSwitch(join(dir, 'missing', 'bpf_stats_enabled'), { recordDir: records });
    const lease = stats.acquire();
    expect(lease.enabled).toBe(false);
    expect(lease.reason).toMatch(/could not be turned on \(ENOENT\)/);
    expect(stats.inUse).toBe(0);
    expect(recordFiles()).toEqual([]);
  });

  it('is put back when the process exits while a capture holds it', () => {
    const r = spawnSync(NODE, [...TS, holderScript('exit')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(value()).toBe('0');
    expect(recordFiles()).toEqual([]);
  });
});

describe('the record a holder leaves while statistics are on', () => {
  it('says what the value was and who holds it on, from before it is turned on until it is back', () => {
    const stats = switchOf();
    const lease = stats.acquire();
    expect(readRecords()).toEqual([
      {
        version: 1,
        sysctl: file,
        prior: '0',
        pid: process.pid,
        startTicks: readProcessCpu(process.pid)!.startTicks,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ]);
    lease.release();
    expect(recordFiles()).toEqual([]);
  });

  it('lets two agents share it: the first out leaves it on for the other, the last puts it back', () => {
    const a = switchOf();
    const b = switchOf();
    const la = a.acquire();
    const lb = b.acquire();
    // B found it on, but on because A turned it on: both records carry the value from before A.
    expect(readRecords().map((r) => r.prior)).toEqual(['0', '0']);
    la.release();
    expect(value()).toBe('1');
    expect(recordFiles()).toHaveLength(1);
    lb.release();
    expect(value()).toBe('0');
    expect(recordFiles()).toEqual([]);
  });

  it('is acted on when its agent was SIGKILLed: the value before goes back, the record goes, the log says so', async () => {
    const holder = await startHolder();
    expect(value()).toBe('1');
    await sigkill(holder);
    expect(value()).toBe('1');
    expect(readRecords().map((r) => [r.pid, r.prior])).toEqual([[holder.pid, '0']]);

    const { log, lines } = captureLog();
    const r = restoreBpfStatsLeftByDeadAgent(log, switchOf());
    expect(r).toMatchObject({ status: 'restored', value: '0', dead: [{ pid: holder.pid }] });
    expect(value()).toBe('0');
    expect(recordFiles()).toEqual([]);
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, msg: expect.stringMatching(/died with kernel.bpf_stats_enabled on: put back/), value: '0', dead: [expect.objectContaining({ pid: holder.pid })] }),
    ]);
    // Nothing left to do for the next agent.
    expect(switchOf().recoverAbandoned()).toEqual({ status: 'none' });
  });

  it("leaves a live agent's record and setting alone", async () => {
    const holder = await startHolder();
    const { log, lines } = captureLog();
    expect(restoreBpfStatsLeftByDeadAgent(log, switchOf())).toEqual({ status: 'none' });
    expect(value()).toBe('1');
    expect(readRecords().map((r) => r.pid)).toEqual([holder.pid]);
    expect(lines).toEqual([]);
    // A capture of this agent meanwhile shares it, and its end leaves it on for the other agent.
    const stats = switchOf();
    stats.acquire().release();
    expect(value()).toBe('1');
    await sigkill(holder);
    expect(switchOf().recoverAbandoned()).toMatchObject({ status: 'restored', value: '0' });
    expect(value()).toBe('0');
  });

  it('when a dead and a live holder both have records, leaves it on for the live one, who puts it back at its end', async () => {
    const stats = switchOf();
    const lease = stats.acquire();
    const dead = await startHolder();
    await sigkill(dead);
    expect(recordFiles()).toHaveLength(2);
    const { log, lines } = captureLog();
    expect(restoreBpfStatsLeftByDeadAgent(log, switchOf())).toMatchObject({ status: 'left-to-live', dead: [{ pid: dead.pid }], live: [{ pid: process.pid }] });
    expect(value()).toBe('1');
    expect(lines.map((l) => l.msg)).toEqual([expect.stringMatching(/left on for the live agents/)]);
    lease.release();
    expect(value()).toBe('0');
    expect(recordFiles()).toEqual([]);
  });

  it("takes the value before from a dead holder's record when a capture starts first, not the 1 it left", async () => {
    const dead = await startHolder();
    await sigkill(dead);
    const stats = switchOf();
    const lease = stats.acquire();
    // The dead holder's record is superseded by ours, which carries its value on.
    expect(readRecords().map((r) => [r.pid, r.prior])).toEqual([[process.pid, '0']]);
    lease.release();
    expect(value()).toBe('0');
  });

  it('takes a record whose pid now runs another process for a dead holder', () => {
    mkdirSync(records);
    const me = readProcessCpu(process.pid)!;
    const stale: BpfStatsRecord = { version: 1, sysctl: file, prior: '0', pid: process.pid, startTicks: me.startTicks - 1, createdAt: new Date().toISOString() };
    writeFileSync(join(records, `${process.pid}-old.json`), JSON.stringify(stale));
    writeFileSync(file, '1\n');
    expect(switchOf().recoverAbandoned()).toMatchObject({ status: 'restored', value: '0' });
    expect(value()).toBe('0');
  });

  it("leaves alone records about another setting, and files that are no record", () => {
    mkdirSync(records);
    const other: BpfStatsRecord = { version: 1, sysctl: join(dir, 'other'), prior: '0', pid: 999_999_999, startTicks: 1, createdAt: new Date().toISOString() };
    writeFileSync(join(records, 'other.json'), JSON.stringify(other));
    writeFileSync(join(records, 'garbled.json'), '{"version":');
    writeFileSync(file, '1\n');
    expect(switchOf().recoverAbandoned()).toEqual({ status: 'none' });
    expect(value()).toBe('1');
    expect(recordFiles().sort()).toEqual(['garbled.json', 'other.json']);
  });

  it('takes over the lock of a holder killed while changing it; waits for, then gives up on, one that is held', () => {
    mkdirSync(records);
    writeFileSync(join(records, '.lock'), JSON.stringify({ pid: 999_999_999, startTicks: 1 }));
    const lease = switchOf().acquire();
    expect(lease.enabled).toBe(true);
    lease.release();
    expect(existsSync(join(records, '.lock'))).toBe(false);

    // Created and not filled yet: someone is in the middle of a change.
    writeFileSync(join(records, '.lock'), '');
    const t0 = Date.now();
    const refused = switchOf().acquire();
    expect(refused.enabled).toBe(false);
    expect(refused.reason).toMatch(/\.lock held for over 2000 ms/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_000);
    expect(value()).toBe('0');
    // Left unfilled for long: its creator died before writing it.
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(records, '.lock'), old, old);
    expect(switchOf().acquire().enabled).toBe(true);
  });
});
