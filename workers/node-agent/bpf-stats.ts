import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isStillRunning, startTicksOf } from '../../bpf/procfs/process-stat.ts';

/**
 * The kernel's BPF run-time statistics, for what a capture costs (capture-cost.ts). The kernel counts each
 * program's `run_time_ns` and `run_cnt` only while `kernel.bpf_stats_enabled` is on, and that costs every BPF
 * program on the node two clock reads per run: it is on only while captures run, and put back as it was after.
 *
 * A SIGKILLed agent cannot put it back itself, so whoever turns it on leaves a record first — the value before, and
 * who (pid and start time) holds it on — in BPF_STATS_RECORD_DIR, beside funcgraph's ftrace lock; a starting agent
 * puts back what a dead holder left on (restoreBpfStatsLeftByDeadAgent). Several agents of one node (tests run
 * several) each keep a record while they hold it on, and the last live holder out puts the value back: no agent
 * turns statistics off under another's capture.
 */

export const BPF_STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';
/** One record per holder (`<pid>-<id>.json`) and the lock that orders their changes (`.lock`); a sibling of /run/tracehound-ftrace.lock. */
export const BPF_STATS_RECORD_DIR = '/run/tracehound-bpf-stats';

/** One BPF program's statistics, as its fdinfo shows them. */
export interface BpfProgStats {
  progId: number;
  runTimeNs: number;
  runCount: number;
}

/**
 * A `bpf-prog` fd's /proc/<pid>/fdinfo/<fd> (kernel 5.1+: `prog_id`, `run_time_ns`, `run_cnt` lines, tab-separated);
 * null for any other fd, or a kernel without the counters.
 */
export function parseBpfProgFdinfo(text: string): BpfProgStats | null {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s*$`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  const progId = field('prog_id');
  const runTimeNs = field('run_time_ns');
  const runCount = field('run_cnt');
  if (progId === null || runTimeNs === null || runCount === null) return null;
  return { progId, runTimeNs, runCount };
}

/**
 * The BPF programs process `pid` holds open, one entry per program (several fds may hold one). Empty once the
 * process is gone or has closed them: they are read while it lives, last just before it exits.
 */
export function readBpfProgStats(pid: number, procRoot = '/proc'): BpfProgStats[] {
  const byId = new Map<number, BpfProgStats>();
  let fds: string[];
  try {
    fds = readdirSync(`${procRoot}/${pid}/fd`);
  } catch {
    return [];
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`${procRoot}/${pid}/fd/${fd}`) !== 'anon_inode:bpf-prog') continue;
      const s = parseBpfProgFdinfo(readFileSync(`${procRoot}/${pid}/fdinfo/${fd}`, 'utf8'));
      if (s) byId.set(s.progId, s);
    } catch {
      // closed meanwhile
    }
  }
  return [...byId.values()];
}

/** Whether statistics are on for a capture; when not, why (the cost's notes say it). */
export interface BpfStatsLease {
  enabled: boolean;
  reason?: string;
  /** Once per lease; the last one out puts the setting back. */
  release(): void;
}

/** What a holder of statistics writes before it turns them on, and removes once it has put them back. */
export const BpfStatsRecord = z.object({
  version: z.literal(1),
  /** The setting it is about: the real sysctl, or a test's file (records about other files are left alone). */
  sysctl: z.string(),
  /** The value before any holder turned statistics on: what the last holder out writes back. */
  prior: z.string(),
  pid: z.number().int().positive(),
  /** /proc/<pid>/stat starttime: tells the holder from a later process that got its pid. */
  startTicks: z.number().int().nonnegative().nullable(),
  createdAt: z.string(),
});
export type BpfStatsRecord = z.infer<typeof BpfStatsRecord>;

/** What a starting agent found of holders that died with statistics on, and did about them. */
export type BpfStatsRecovery =
  /** No record of a dead holder. */
  | { status: 'none' }
  /** Dead holders' records removed; the prior value is left to the live holders, who write it back when they end. */
  | { status: 'left-to-live'; dead: BpfStatsRecord[]; live: BpfStatsRecord[] }
  /** Dead holders' prior value written back, their records removed. */
  | { status: 'restored'; dead: BpfStatsRecord[]; value: string };

export interface BpfStatsOptions {
  /** Where holders keep their records (BPF_STATS_RECORD_DIR); tests use their own. */
  recordDir?: string;
  procRoot?: string;
  log?: Logger;
}

/** How long a change waits for another holder's: each holds the lock for a few file operations. */
const LOCK_WAIT_MS = 2_000;
/** A lock file without a readable owner older than this was left by a holder killed between creating and filling it. */
const GARBLED_LOCK_MS = 10_000;
const SLEEP = new Int32Array(new SharedArrayBuffer(4));

const LockOwner = z.object({ pid: z.number().int().positive(), startTicks: z.number().int().nonnegative().nullable() });
type Holder = z.infer<typeof LockOwner>;

/** Removes a file another agent may have removed first. */
function removeIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

const errText = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/**
 * Reference-counted switch for `kernel.bpf_stats_enabled`, one per agent process (the setting is the node's): on
 * for the first capture, back to the value it had before when the last one ends — unless another agent's capture
 * still holds it on — when the agent stops (restore) and, synchronously, when the process exits. Everything here is
 * synchronous: the exit handler cannot wait.
 */
export class BpfStatsSwitch {
  private holders = 0;
  /** This process's record while it holds statistics on; null while it does not. */
  private record: { path: string; prior: string } | null = null;
  private readonly onExit = () => this.restore();
  private readonly recordDir: string;
  private readonly procRoot: string;
  private readonly log?: Logger;

  constructor(
    private readonly file: string = BPF_STATS_SYSCTL,
    opts: BpfStatsOptions = {},
  ) {
    this.recordDir = opts.recordDir ?? BPF_STATS_RECORD_DIR;
    this.procRoot = opts.procRoot ?? '/proc';
    this.log = opts.log;
  }

  /** Statistics on for one capture. Never throws: where the setting cannot be changed, only process CPU is measured. */
  acquire(): BpfStatsLease {
    if (this.holders === 0) {
      try {
        this.record = this.locked(() => this.takeHold());
        process.once('exit', this.onExit);
      } catch (err) {
        const reason = `kernel.bpf_stats_enabled could not be turned on (${errText(err)}): BPF run time not measured`;
        return { enabled: false, reason, release: () => {} };
      }
    }
    this.holders++;
    let released = false;
    return {
      enabled: true,
      release: () => {
        if (released) return;
        released = true;
        this.holders--;
        if (this.holders === 0) this.restore();
      },
    };
  }

  /**
   * Puts the setting back as it was before the first holder turned it on, unless another live holder still has it
   * on (agent stop; process exit); then its record goes, and with it those of dead holders, which it stood in for.
   */
  restore(): void {
    process.removeListener('exit', this.onExit);
    const mine = this.record;
    if (mine === null) return;
    this.record = null;
    try {
      this.locked(() => {
        const others = this.records().filter((r) => r.path !== mine.path);
        const dead = others.filter((r) => !isStillRunning(r.record, this.procRoot));
        // Written before the record goes: a failed write leaves the record for the next agent's start to act on.
        if (dead.length === others.length) writeFileSync(this.file, mine.prior);
        for (const r of [mine, ...dead]) removeIfThere(r.path);
      });
    } catch (err) {
      this.log?.error({ err, file: this.file, value: mine.prior }, 'could not put kernel.bpf_stats_enabled back');
    }
  }

  /**
   * For an agent starting up: what holders that died with statistics on left (their records), put back to the value
   * before the first of them — unless a live holder has statistics on now, whose end puts it back. Throws when the
   * records or the setting cannot be read or written.
   */
  recoverAbandoned(): BpfStatsRecovery {
    // No agent of this node has ever held statistics on (or it could not create the directory): nothing to look at.
    if (!existsSync(this.recordDir)) return { status: 'none' };
    return this.locked(() => {
      const all = this.records();
      const dead = all.filter((r) => !isStillRunning(r.record, this.procRoot));
      if (dead.length === 0) return { status: 'none' };
      const live = all.filter((r) => !dead.includes(r));
      const value = dead[0]!.record.prior;
      if (live.length === 0) writeFileSync(this.file, value);
      for (const r of dead) removeIfThere(r.path);
      const records = dead.map((r) => r.record);
      return live.length > 0 ? { status: 'left-to-live', dead: records, live: live.map((r) => r.record) } : { status: 'restored', dead: records, value };
    });
  }

  /** Captures holding statistics on now (tests). */
  get inUse(): number {
    return this.holders;
  }

  /**
   * Becomes a holder: the record first (a kill between the two writes leaves a record of a value still in force,
   * harmless), then statistics on. The value before is the one in any holder's record, dead or alive: a setting
   * on because a holder turned it on is not the node's own.
   */
  private takeHold(): { path: string; prior: string } {
    const now = readFileSync(this.file, 'utf8').trim();
    const others = this.records();
    const prior = others[0]?.record.prior ?? now;
    const path = join(this.recordDir, `${process.pid}-${randomUUID().slice(0, 8)}.json`);
    const record: BpfStatsRecord = {
      version: 1,
      sysctl: this.file,
      prior,
      pid: process.pid,
      startTicks: startTicksOf(process.pid, this.procRoot),
      createdAt: new Date().toISOString(),
    };
    writeFileSync(`${path}.tmp`, JSON.stringify(record), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
    try {
      if (now !== '1') writeFileSync(this.file, '1');
    } catch (err) {
      removeIfThere(path);
      throw err;
    }
    // Ours carries their value on: a dead holder's record has nothing left to say.
    for (const r of others) if (!isStillRunning(r.record, this.procRoot)) removeIfThere(r.path);
    return { path, prior };
  }

  /** The records about this switch's setting, oldest first; one that cannot be read is left alone. */
  private records(): { path: string; record: BpfStatsRecord }[] {
    const out: { path: string; record: BpfStatsRecord }[] = [];
    for (const name of readdirSync(this.recordDir)) {
      if (!name.endsWith('.json')) continue;
      const path = join(this.recordDir, name);
      let record: BpfStatsRecord;
      try {
        record = BpfStatsRecord.parse(JSON.parse(readFileSync(path, 'utf8')));
      } catch (err) {
        this.log?.warn({ err, path }, 'unreadable kernel.bpf_stats_enabled record left alone');
        continue;
      }
      if (record.sysctl === this.file) out.push({ path, record });
    }
    return out.sort((a, b) => a.record.createdAt.localeCompare(b.record.createdAt));
  }

  /**
   * Runs `fn` holding the record directory's lock (a file created exclusively, naming its owner), so that a holder
   * turning statistics on and another putting them back see each other's records. A lock whose owner is gone is
   * taken over.
   */
  private locked<T>(fn: () => T): T {
    mkdirSync(this.recordDir, { recursive: true, mode: 0o700 });
    const lock = join(this.recordDir, '.lock');
    const me: Holder = { pid: process.pid, startTicks: startTicksOf(process.pid, this.procRoot) };
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      let fd: number;
      try {
        fd = openSync(lock, 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (this.breakStaleLock(lock)) continue;
        if (Date.now() > deadline) throw new Error(`${lock} held for over ${LOCK_WAIT_MS} ms`, { cause: err });
        Atomics.wait(SLEEP, 0, 0, 5);
        continue;
      }
      try {
        writeSync(fd, JSON.stringify(me));
      } finally {
        closeSync(fd);
      }
      try {
        return fn();
      } finally {
        removeIfThere(lock);
      }
    }
  }

  /** Removes the lock when its owner is gone; false while it may be held. */
  private breakStaleLock(lock: string): boolean {
    try {
      const text = readFileSync(lock, 'utf8');
      let owner: Holder | null = null;
      try {
        owner = LockOwner.parse(JSON.parse(text));
      } catch {
        // Not filled yet, or by a holder killed right after creating it.
      }
      const stale = owner ? !isStillRunning(owner, this.procRoot) : Date.now() - statSync(lock).mtimeMs > GARBLED_LOCK_MS;
      // Only the lock judged: another agent may have broken it and taken a fresh one meanwhile.
      if (stale && readFileSync(lock, 'utf8') === text) unlinkSync(lock);
      return stale;
    } catch (err) {
      // Released meanwhile: try again at once.
      return (err as NodeJS.ErrnoException).code === 'ENOENT';
    }
  }
}

/**
 * Start-up step of the agent: statistics a dead agent left on go back to what they were before it, and the log says
 * so. Never fails the start-up: the next capture's record still carries the value before on.
 */
export function restoreBpfStatsLeftByDeadAgent(log: Logger, stats: BpfStatsSwitch = defaultBpfStats): BpfStatsRecovery | null {
  try {
    const r = stats.recoverAbandoned();
    const holders = (rs: BpfStatsRecord[]) => rs.map((d) => ({ pid: d.pid, since: d.createdAt }));
    if (r.status === 'restored') {
      log.warn({ dead: holders(r.dead), value: r.value }, 'an agent died with kernel.bpf_stats_enabled on: put back the value it had before');
    }
    if (r.status === 'left-to-live') {
      log.info({ dead: holders(r.dead), live: holders(r.live) }, 'an agent died with kernel.bpf_stats_enabled on: left on for the live agents holding it, who put it back');
    }
    return r;
  } catch (err) {
    log.error({ err }, 'could not check for kernel.bpf_stats_enabled left on by a dead agent');
    return null;
  }
}

/** The agent-wide switch: one per process, as the setting is one per node. */
export const defaultBpfStats = new BpfStatsSwitch();
