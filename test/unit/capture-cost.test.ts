import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CaptureCost, costOf, describeCost, formatCostShare } from '../../src/core/capture-cost.ts';
import { Step } from '../../src/core/investigation.ts';
import { loadConfig } from '../../src/config.ts';
import { parseBpfProgFdinfo, readBpfProgStats } from '../../workers/node-agent/bpf-stats.ts';
import { BpftraceMeter, nativeCostNotes, startNativeMeter } from '../../workers/node-agent/capture-cost.ts';
import { parseProcStat } from '../../bpf/procfs/process-stat.ts';
import { clockTicksPerSecond, readProcessCpu, ticksToNs } from '../../workers/node-agent/process-cpu.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/capture-cost/', import.meta.url));
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

describe('reading what a capture process owns (recorded /proc files)', () => {
  it("reads a BPF program's run time and count from its fdinfo", () => {
    expect(parseBpfProgFdinfo(fixture('fdinfo-bpf-prog-profile.txt'))).toEqual({ progId: 56765, runTimeNs: 2783323, runCount: 706 });
  });

  it('reads nothing from the fdinfo of a map or an ordinary file', () => {
    expect(parseBpfProgFdinfo(fixture('fdinfo-bpf-map.txt'))).toBeNull();
    expect(parseBpfProgFdinfo(fixture('fdinfo-not-bpf.txt'))).toBeNull();
  });

  it("reads a process's CPU time from its stat, whatever its name holds", () => {
    expect(parseProcStat(fixture('stat-bpftrace.txt'))).toEqual({ ticks: 12 + 38, startTicks: 6144514 });
    // "we) ird (comm": counted after the last ")", the fields are where they belong.
    expect(parseProcStat(fixture('stat-odd-comm.txt'))).toEqual({ ticks: 0, startTicks: 6226992 });
    expect(parseProcStat('garbage')).toBeNull();
    expect(parseProcStat('1 (x) S 1')).toBeNull();
  });

  it('reads this very process from the real /proc', () => {
    const me = readProcessCpu(process.pid);
    expect(me).not.toBeNull();
    expect(me!.ticks).toBeGreaterThan(0);
    expect(readProcessCpu(2 ** 22 + 17)).toBeNull();
    expect(clockTicksPerSecond()).toBe(100);
    expect(ticksToNs(50)).toBe(500_000_000);
  });
});

/** A stand-in for /proc with one process: its stat and fds, made of the recorded files (symlinks as the kernel shows them). */
function fakeProc(root: string, pid: number, stat: string, fds: Record<string, { link: string; fdinfo: string }>): void {
  mkdirSync(join(root, String(pid), 'fd'), { recursive: true });
  mkdirSync(join(root, String(pid), 'fdinfo'), { recursive: true });
  writeFileSync(join(root, String(pid), 'stat'), stat);
  for (const [fd, f] of Object.entries(fds)) {
    symlinkSync(f.link, join(root, String(pid), 'fd', fd));
    writeFileSync(join(root, String(pid), 'fdinfo', fd), f.fdinfo);
  }
}

const withTicks = (stat: string, utime: number, stime: number) => {
  const close = stat.lastIndexOf(')');
  const rest = stat.slice(close + 2).split(' ');
  rest[11] = String(utime);
  rest[12] = String(stime);
  return `${stat.slice(0, close + 2)}${rest.join(' ')}`;
};

describe('measuring a bpftrace run', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'th-cost-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps each program once, however many fds hold it, and skips maps and files", () => {
    const prog = fixture('fdinfo-bpf-prog-profile.txt');
    fakeProc(dir, 42, fixture('stat-bpftrace.txt'), {
      '4': { link: 'anon_inode:bpf-map', fdinfo: fixture('fdinfo-bpf-map.txt') },
      '13': { link: 'anon_inode:bpf-prog', fdinfo: prog },
      '14': { link: 'anon_inode:bpf-prog', fdinfo: prog },
      '16': { link: 'anon_inode:bpf-prog', fdinfo: prog.replace('prog_id:\t56765', 'prog_id:\t56766').replace('run_cnt:\t706', 'run_cnt:\t3') },
      '0': { link: '/dev/null', fdinfo: fixture('fdinfo-not-bpf.txt') },
    });
    const stats = readBpfProgStats(42, dir).sort((a, b) => a.progId - b.progId);
    expect(stats).toEqual([
      { progId: 56765, runTimeNs: 2783323, runCount: 706 },
      { progId: 56766, runTimeNs: 2783323, runCount: 3 },
    ]);
    expect(readBpfProgStats(43, dir)).toEqual([]);
  });

  it('splits the CPU into loading, attached and stopping, keeps the programs at their last reading, and reports the shares', () => {
    const stat = fixture('stat-bpftrace.txt');
    const prog = fixture('fdinfo-bpf-prog-profile.txt');
    fakeProc(dir, 42, withTicks(stat, 10, 30), { '13': { link: 'anon_inode:bpf-prog', fdinfo: prog.replace('run_time_ns:\t2783323', 'run_time_ns:\t1000') } });
    const meter = new BpftraceMeter({ cpus: 2, budget: 0.01, procRoot: dir }, { enabled: true, release: () => {} });
    // Times as the time box gives them: the looks happen between the marker and the stop.
    const now = Date.now();
    const t = (ms: number) => new Date(now - 500 + ms);
    meter.sample(42, 'attached');
    // The window's first look finds it idle since the marker: loading had ended.
    meter.sample(42, 'window');
    writeFileSync(join(dir, '42', 'stat'), withTicks(stat, 11, 30));
    writeFileSync(join(dir, '42', 'fdinfo', '13'), prog);
    meter.sample(42, 'stopping');
    writeFileSync(join(dir, '42', 'stat'), withTicks(stat, 20, 31));
    // The programs are closed while it prints: their last reading stays.
    rmSync(join(dir, '42', 'fd', '13'));
    meter.sample(42, 'exiting');
    const cost = meter.cost({ startedAt: t(0), attachedAt: t(500), stoppedAt: t(10_500), finishedAt: t(11_000) });
    expect(CaptureCost.parse(cost)).toEqual(cost);
    expect(cost).toMatchObject({ bpfRunTimeNs: 2783323, bpfRunCount: 706, processCpuNs: 510_000_000, windowMs: 11_000, cpus: 2, budget: 0.01, notes: [] });
    expect(cost.phases!.load.processCpuNs).toBe(400_000_000);
    expect(cost.phases!.attached.processCpuNs).toBe(10_000_000);
    expect(cost.phases!.stop).toEqual({ ms: 500, processCpuNs: 100_000_000 });
    expect(cost.nodeCpuShare).toBeCloseTo((510e6 + 2783323) / (11_000e6 * 2), 8);
    expect(cost.cpuShareOfOneCpu).toBeCloseTo(cost.nodeCpuShare * 2, 7);
    // Over 1% of the node with its loading, not while attached: the budget holds the overhead (judgedShare).
    expect(cost.nodeCpuShare).toBeGreaterThan(0.01);
    expect(cost.overBudget).toBe(false);
    expect(cost.phases!.attached.ms).toBeGreaterThan(9_000);
    // Once loaded: 10 ms of bpftrace's CPU and the programs' 2.8 ms over about 10 s, on 2 CPUs.
    expect(cost.attachedNodeCpuShare).toBeGreaterThan((10e6 + 2783323) / (10_600e6 * 2));
    expect(cost.attachedNodeCpuShare).toBeLessThan((10e6 + 2783323) / (9_000e6 * 2));
  });

  it('moves the end of loading past the marker while the process is still busy loading', () => {
    const stat = fixture('stat-bpftrace.txt');
    fakeProc(dir, 42, withTicks(stat, 0, 10), {});
    const meter = new BpftraceMeter({ cpus: 2, procRoot: dir }, { enabled: true, release: () => {} });
    meter.sample(42, 'attached');
    // 30 ticks (300 ms of CPU) in the few milliseconds since: still loading.
    writeFileSync(join(dir, '42', 'stat'), withTicks(stat, 10, 30));
    meter.sample(42, 'window');
    meter.sample(42, 'window');
    meter.sample(42, 'stopping');
    const t = (ms: number) => new Date(Date.now() + ms);
    const cost = meter.cost({ startedAt: t(-1000), attachedAt: t(-900), stoppedAt: t(0), finishedAt: t(10) });
    expect(cost.phases!.load.processCpuNs).toBe(400_000_000);
    expect(cost.phases!.attached.processCpuNs).toBe(0);
  });

  it('ends loading once the same programs stay loaded and have run, however little CPU a contended node gave it', () => {
    const stat = fixture('stat-bpftrace.txt');
    const prog = fixture('fdinfo-bpf-prog-profile.txt');
    fakeProc(dir, 42, withTicks(stat, 0, 10), {});
    const meter = new BpftraceMeter({ cpus: 2, procRoot: dir }, { enabled: true, release: () => {} });
    const now = Date.now();
    meter.sample(42, 'attached');
    // The verifier has loaded the program: new programs, so still loading whatever the CPU.
    writeFileSync(join(dir, '42', 'stat'), withTicks(stat, 0, 40));
    symlinkSync('anon_inode:bpf-prog', join(dir, '42', 'fd', '13'));
    writeFileSync(join(dir, '42', 'fdinfo', '13'), prog.replace('run_cnt:\t706', 'run_cnt:\t0'));
    meter.sample(42, 'window');
    // The same program, and it has run: attached. The CPU since the last look (attach) is the window's.
    writeFileSync(join(dir, '42', 'stat'), withTicks(stat, 0, 41));
    writeFileSync(join(dir, '42', 'fdinfo', '13'), prog.replace('run_cnt:\t706', 'run_cnt:\t5'));
    meter.sample(42, 'window');
    writeFileSync(join(dir, '42', 'stat'), withTicks(stat, 0, 42));
    meter.sample(42, 'window');
    meter.sample(42, 'stopping');
    writeFileSync(join(dir, '42', 'stat'), withTicks(stat, 0, 50));
    meter.sample(42, 'exiting');
    const t = (ms: number) => new Date(now + ms);
    const cost = meter.cost({ startedAt: t(-500), attachedAt: t(0), stoppedAt: t(5000), finishedAt: t(5200) });
    expect(cost.phases!.load.processCpuNs).toBe(400_000_000);
    expect(cost.phases!.attached.processCpuNs).toBe(20_000_000);
    expect(cost.phases!.stop.processCpuNs).toBe(80_000_000);
  });

  it('says what it could not measure, and never counts a reused pid', () => {
    const stat = fixture('stat-bpftrace.txt');
    fakeProc(dir, 42, stat, {});
    const meter = new BpftraceMeter({ cpus: 2, procRoot: dir }, { enabled: false, reason: 'kernel.bpf_stats_enabled could not be turned on (EROFS)', release: () => {} });
    meter.sample(42, 'attached');
    // Another process got the pid: a different start time.
    writeFileSync(join(dir, '42', 'stat'), withTicks(stat, 9000, 9000).replace(' 6144514 ', ' 9999999 '));
    meter.sample(42, 'exiting');
    const t = (ms: number) => new Date(1_700_000_000_000 + ms);
    const cost = meter.cost({ startedAt: t(0), attachedAt: t(100), stoppedAt: t(1100), finishedAt: t(1200) });
    expect(cost.processCpuNs).toBe(500_000_000);
    expect(cost.bpfRunTimeNs).toBeNull();
    expect(cost.bpfRunCount).toBeNull();
    expect(cost.notes).toEqual(['kernel.bpf_stats_enabled could not be turned on (EROFS)']);
    expect(cost.budget).toBeUndefined();

    const never = new BpftraceMeter({ cpus: 2, procRoot: dir }, { enabled: true, release: () => {} }).cost({ startedAt: t(0), attachedAt: null, stoppedAt: null, finishedAt: t(50) });
    expect(never.processCpuNs).toBe(0);
    expect(never.notes).toEqual(['the capture process ended before its CPU time could be read']);
  });

  it("measures a native tool as the agent's CPU while it ran, saying what that leaves out", async () => {
    const end = startNativeMeter({ cpus: 4, budget: 0.5 }, true);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    // 50 ms of CPU, however long a loaded host takes to give it.
    for (let used = process.cpuUsage(cpu0); used.user + used.system < 50_000; used = process.cpuUsage(cpu0)) Math.sqrt(Math.random());
    const wall = performance.now() - t0;
    const cost = end();
    expect(cost.processCpuNs).toBeGreaterThanOrEqual(50_000_000);
    expect(cost.windowMs).toBeGreaterThanOrEqual(Math.floor(wall)); // kept in whole milliseconds
    expect(cost.cpuShareOfOneCpu).toBeGreaterThan(0);
    // Every thread of the process counts (V8's compiler and collector too): at most all the machine's CPUs.
    expect(cost.cpuShareOfOneCpu).toBeLessThan(cpus().length + 0.1);
    expect(cost.nodeCpuShare).toBeCloseTo(cost.cpuShareOfOneCpu / 4, 6);
    expect(cost.bpfRunTimeNs).toBeNull();
    expect(cost.notes).toEqual(nativeCostNotes(true));
    expect(cost.notes.join(' ')).toMatch(/ftrace's in-kernel cost .* is not in it/);
    expect(nativeCostNotes(false).join(' ')).not.toMatch(/ftrace/);
  });
});

describe('costOf and its words', () => {
  it('gives shares over the window and judges the budget on the overhead while attached only', () => {
    const c = costOf({ bpfRunTimeNs: 10_000_000, bpfRunCount: 1000, processCpuNs: 90_000_000, windowMs: 10_000, cpus: 2, budget: 0.01 });
    expect(c.nodeCpuShare).toBe(0.005);
    expect(c.cpuShareOfOneCpu).toBe(0.01);
    expect(c.overBudget).toBe(false);
    // A native tool (no attached phase): its figure is the agent's CPU, other work included — recorded, not judged.
    const native = costOf({ bpfRunTimeNs: null, bpfRunCount: null, processCpuNs: 300_000_000, windowMs: 10_000, cpus: 2, budget: 0.01 });
    expect(native.nodeCpuShare).toBe(0.015);
    expect(native.overBudget).toBe(false);
    // Attached at 1.5% of the node (the programs' 100 ms and the process's 200 ms over 10 s on 2 CPUs): over 1%.
    const phases = { load: { ms: 500, processCpuNs: 400_000_000 }, attached: { ms: 10_000, processCpuNs: 200_000_000 }, stop: { ms: 100, processCpuNs: 0 } };
    const busy = costOf({ bpfRunTimeNs: 100_000_000, bpfRunCount: 10, processCpuNs: 600_000_000, windowMs: 10_600, cpus: 2, phases, budget: 0.01 });
    expect(busy.attachedNodeCpuShare).toBe(0.015);
    expect(busy.overBudget).toBe(true);
    expect(costOf({ bpfRunTimeNs: 100_000_000, bpfRunCount: 10, processCpuNs: 600_000_000, windowMs: 10_600, cpus: 2, phases, budget: 0.02 }).overBudget).toBe(false);
    expect(formatCostShare(0.005)).toBe('0.5%');
    expect(formatCostShare(0.0000451)).toBe('0.0045%');
    expect(formatCostShare(0.063)).toBe('6.3%');
    expect(formatCostShare(0.25)).toBe('25%');
    expect(describeCost(c)).toBe('100 ms of CPU over 10.0 s on 2 CPUs: the capture process 90 ms, its BPF programs 10 ms in 1000 runs');
  });

  it('leaves records from before costs readable', () => {
    const old = { id: 'cpu', tool: 'profile', node: 'n', status: 'succeeded', artifacts: [] };
    expect(Step.parse(old).cost).toBeUndefined();
    const withCost = Step.parse({ ...old, cost: { nodeCpuShare: 0.01, cpuShareOfOneCpu: 0.02, bpfRunTimeNs: null, bpfRunCount: null, processCpuNs: 1, windowMs: 1, cpus: 2 } });
    expect(withCost.cost?.notes).toEqual([]);
  });
});

describe('CAPTURE_COST_BUDGET', () => {
  it('is a share of the node, given as a fraction or a percentage, checked with a clear error', () => {
    expect(loadConfig({}).CAPTURE_COST_BUDGET).toBe(0.05);
    expect(loadConfig({ CAPTURE_COST_BUDGET: '0.01' }).CAPTURE_COST_BUDGET).toBe(0.01);
    expect(loadConfig({ CAPTURE_COST_BUDGET: '0.5%' }).CAPTURE_COST_BUDGET).toBe(0.005);
    for (const bad of ['abc', '0', '2', '-1', '150%', '1e-3']) {
      expect(() => loadConfig({ CAPTURE_COST_BUDGET: bad }), bad).toThrow(
        /CAPTURE_COST_BUDGET: expected a share of the node's CPU above 0 and at most 1, such as "0.05" or "5%"/,
      );
    }
  });
});
