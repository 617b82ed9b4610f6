import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';

/**
 * The kernel's BPF run-time statistics, for what a capture costs (capture-cost.ts). The kernel counts each
 * program's `run_time_ns` and `run_cnt` only while `kernel.bpf_stats_enabled` is on, and that costs every BPF
 * program on the node two clock reads per run: it is on only while captures run, and put back as it was after.
 */

export const BPF_STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

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

/**
 * Reference-counted switch for `kernel.bpf_stats_enabled`, one per agent process (the setting is the node's): on
 * for the first capture, back to the value it had before when the last one ends, when the agent stops (restore)
 * and, synchronously, when the process exits. A SIGKILLed agent cannot put it back: the next agent's first capture
 * reads it as its "before" and leaves it on — the cost of that is two clock reads per BPF program run.
 */
export class BpfStatsSwitch {
  private holders = 0;
  /** The value before this agent turned statistics on; null while it has not changed it. */
  private prior: string | null = null;
  private readonly onExit = () => this.restore();

  constructor(
    private readonly file: string = BPF_STATS_SYSCTL,
    private readonly log?: Logger,
  ) {}

  /** Statistics on for one capture. Never throws: where the setting cannot be changed, only process CPU is measured. */
  acquire(): BpfStatsLease {
    if (this.holders === 0) {
      try {
        const before = readFileSync(this.file, 'utf8').trim();
        if (before !== '1') {
          writeFileSync(this.file, '1');
          this.prior = before;
          process.once('exit', this.onExit);
        }
      } catch (err) {
        const reason = `kernel.bpf_stats_enabled could not be turned on (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): BPF run time not measured`;
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

  /** Puts the setting back as it was before this agent changed it (agent stop; process exit). */
  restore(): void {
    process.removeListener('exit', this.onExit);
    if (this.prior === null) return;
    const prior = this.prior;
    this.prior = null;
    try {
      writeFileSync(this.file, prior);
    } catch (err) {
      this.log?.error({ err, file: this.file, value: prior }, 'could not put kernel.bpf_stats_enabled back');
    }
  }

  /** Captures holding statistics on now (tests). */
  get inUse(): number {
    return this.holders;
  }
}

/** The agent-wide switch: one per process, as the setting is one per node. */
export const defaultBpfStats = new BpfStatsSwitch();
