import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { CapabilityError } from '../../src/core/errors.ts';

export interface TimeBoxedRun {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Ended because the caller aborted (investigation cancelled), not because the time box ran out. */
  cancelled: boolean;
  /** Had to be SIGKILLed: it did not stop on SIGINT within the grace period. */
  killed: boolean;
  outputTruncated: boolean;
  startedAt: Date;
  /** When the start marker was seen (the capture window opened); null without a marker or if it never came. */
  attachedAt: Date | null;
  /** When the time box (or a cancel) told the command to stop; null when it ended by itself first. */
  stoppedAt: Date | null;
  finishedAt: Date;
}

/**
 * When a run's command is looked at (TimeBoxOptions.onSample): as the window opens (`attached`), now and then while
 * it is open (`window`: every 100 ms for its first 5 s, then every second), just before it is told to stop (`stopping`), then often until it is gone (`exiting`). What
 * a process owns (its CPU time, its BPF programs) can only be read while it lives: the last `exiting` look is the
 * latest there is.
 */
export type SampleMoment = 'attached' | 'window' | 'stopping' | 'exiting';

export interface TimeBoxOptions {
  command: string;
  args: string[];
  durationMs: number;
  /** How long the command gets to stop (bpftrace: print its maps) after SIGINT before SIGKILL, while we live. */
  killGraceMs: number;
  /**
   * How long the command may outlive this process (CAPTURE_KILL_GRACE): when we die it gets SIGTERM, then SIGKILL
   * after this. Shorter than a tool's stop grace is right: nobody is left to read what it would print.
   * Defaults to `killGraceMs`.
   */
  orphanGraceMs?: number;
  signal?: AbortSignal;
  maxOutputBytes: number;
  /**
   * When set, the duration counts from the first time stdout contains this text (bpftrace's "attached_probes"),
   * so the capture window is the whole duration however long the program took to load; loading itself may take
   * at most `startupMs`.
   */
  startMarker?: string;
  startupMs?: number;
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  /** How long a cancelled run gets to print its partial maps before SIGKILL. */
  cancelGraceMs?: number;
  /**
   * For a command that can watch a process and stop when it exits (bpftrace: `-p PID`): the arguments that tell it
   * the sentinel's pid, put before `args`. The time box then starts a sentinel and stops the command by ending the
   * sentinel as well as by SIGINT, because SIGINT alone can be lost (see startSentinel).
   */
  sentinelArgs?: (pid: number) => string[];
  /**
   * Called with the command's own pid (not `timeout`'s) at each SampleMoment; what it throws is ignored, so a
   * measurement can never break a capture. Looks while exiting come every `sampleEveryMs` (25 ms).
   */
  onSample?: (pid: number, moment: SampleMoment) => void;
  sampleEveryMs?: number;
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

/** The parent-death guard: util-linux, so present wherever `timeout` (coreutils) is, but checked all the same. */
const GUARD = 'setpriv';

/**
 * The command line that ties the capture's life to ours. PR_SET_PDEATHSIG fires when the parent *thread* exits:
 * child_process.spawn forks from the thread that calls it, here the main thread, which lives as long as the
 * process (never call this from a worker thread: the capture would die with that thread).
 * - `timeout` gets SIGTERM when we die; it forwards it to the command and SIGKILLs it `orphanGraceMs` later
 *   (its --kill-after, which we never trigger ourselves, see stop()).
 * - The command gets SIGKILL if `timeout` dies first (only ever by SIGKILL, so no one would enforce a grace).
 * - `timeout`'s own deadline (load + window + stop grace) only matters if we died before setpriv armed the guard.
 */
function guardedCommand(opts: TimeBoxOptions, outerMs: number, orphanGraceMs: number, sentinelPid: number | null): string[] {
  return [
    '--pdeathsig=TERM',
    '--',
    'timeout',
    '--signal=INT',
    `--kill-after=${secs(orphanGraceMs)}s`,
    `${secs(outerMs)}s`,
    GUARD,
    '--pdeathsig=KILL',
    '--',
    opts.command,
    ...(sentinelPid !== null && opts.sentinelArgs ? opts.sentinelArgs(sentinelPid) : []),
    ...opts.args,
  ];
}

/**
 * Why a sentinel: bpftrace 0.17 (Debian 12) only leaves its poll loop on SIGINT when the signal interrupts
 * epoll_wait. A SIGINT that lands while it is between two waits sets its exit flag, which the loop never reads
 * again, and a program that prints no events then runs until SIGKILL, its maps lost. Under load on two cores that
 * is 2 stops in 15 (measured). Its loop does check, every 100 ms, whether the process given with `-p` is alive
 * (a pidfd), so ending a sentinel process stops it within one poll whatever the timing.
 * The sentinel is a `sleep` that dies with us (parent-death signal) and cannot outlive the whole box.
 */
function startSentinel(lifetimeMs: number): ChildProcess {
  return spawn(GUARD, ['--pdeathsig=KILL', '--', 'sleep', `${secs(lifetimeMs)}s`], { stdio: 'ignore' });
}

/** The command's pid: the one child of `timeout` (null before it forked, or once it is gone). */
function childOf(pid: number): number | null {
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const first = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(' ')[0];
      if (first) return Number(first);
    }
  } catch {
    // gone
  }
  return null;
}

/**
 * Runs a command for `durationMs` (counted from its start marker when given), then SIGINT (bpftrace prints its
 * maps and exits), then SIGKILL after `killGraceMs`. Never uses a shell. The box holds even if this process dies
 * mid-capture: the command runs under coreutils `timeout` with parent-death signals (setpriv), so nothing of it
 * outlives us by more than `orphanGraceMs` (see guardedCommand). Refuses to run (CapabilityError) without setpriv.
 */
export function runTimeBoxed(opts: TimeBoxOptions): Promise<TimeBoxedRun> {
  const startedAt = new Date();
  const startupMs = opts.startMarker ? (opts.startupMs ?? 30_000) : 0;
  const orphanGraceMs = opts.orphanGraceMs ?? opts.killGraceMs;
  // Our timers close the window and enforce the stop grace; `timeout`'s deadline is later than all of them.
  const outerMs = startupMs + opts.durationMs + opts.killGraceMs;
  // The last moment anything of this run may live: `timeout` has given up by then too.
  const lastMs = outerMs + orphanGraceMs + 1000;
  const sentinel = opts.sentinelArgs ? startSentinel(lastMs) : null;
  // Without setpriv the sentinel fails to start too; the command's own spawn reports that below.
  sentinel?.on('error', () => {});
  const endSentinel = () => {
    if (sentinel && sentinel.exitCode === null && sentinel.signalCode === null) sentinel.kill('SIGKILL');
  };
  const child = spawn(
    GUARD,
    guardedCommand(opts, outerMs, orphanGraceMs, sentinel?.pid ?? null),
    // Own process group, so a hard kill reaches `timeout` and the capture together.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...opts.env } },
  );
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let outBytes = 0;
  let errBytes = 0;
  let outputTruncated = false;
  let cancelled = false;
  let killed = false;
  let exited = false;

  const killGroup = (sig: NodeJS.Signals) => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  const hardKill = () => {
    if (exited) return;
    killed = true;
    killGroup('SIGKILL');
  };

  // SIGINT goes to the command itself, not to `timeout`: `timeout` would forward it but also start its
  // --kill-after clock, which is the short orphan grace, cutting a long print short. Before the command exists
  // (or after it is gone) `timeout` forwards it.
  const interrupt = () => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(childOf(child.pid) ?? child.pid, 'SIGINT');
    } catch {
      // exited meanwhile
    }
  };
  // The command's pid, once `timeout` has forked it (the look-ups below are for sampling only).
  let commandPid: number | null = null;
  const sample = (moment: SampleMoment) => {
    if (!opts.onSample || exited || child.pid === undefined) return;
    commandPid ??= childOf(child.pid);
    if (commandPid === null) return;
    try {
      opts.onSample(commandPid, moment);
    } catch {
      // a measurement never breaks a capture
    }
  };
  let windowSampler: NodeJS.Timeout | undefined;
  // Every 100 ms for the first 5 s of the window (bpftrace goes on loading and attaching after it says it is
  // attaching: the looks show when that work ends), then every second.
  const windowLooks = (n = 0) => {
    windowSampler = setTimeout(() => {
      sample('window');
      windowLooks(n + 1);
    }, n < 50 ? 100 : 1000);
  };
  let exitSampler: NodeJS.Timeout | undefined;
  let stoppedAt: Date | null = null;
  /** The last look before the stop signal, then looks until the command is gone: what it owns ends with it. */
  const stopping = () => {
    stoppedAt ??= new Date();
    clearTimeout(windowSampler);
    if (!opts.onSample || exitSampler) return;
    sample('stopping');
    exitSampler = setInterval(() => sample('exiting'), opts.sampleEveryMs ?? 25);
  };
  let graceTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (graceTimer) return;
    stopping();
    interrupt();
    endSentinel();
    graceTimer = setTimeout(hardKill, opts.killGraceMs);
  };

  let attachedAt: Date | null = null;
  // Without a marker the window opens now; with one, loading may take `startupMs` before we give up.
  let windowTimer: NodeJS.Timeout | undefined = setTimeout(stop, opts.startMarker ? startupMs : opts.durationMs);
  // Without a marker the window is open from the start; the command's pid may take a moment to exist.
  if (opts.onSample && !opts.startMarker) windowLooks();
  let head = ''; // the marker may straddle two chunks
  child.stdout.on('data', (b: Buffer) => {
    if (opts.startMarker && !attachedAt && head.length < 65_536) {
      head += b.toString('utf8');
      if (head.includes(opts.startMarker) && !graceTimer) {
        attachedAt = new Date();
        clearTimeout(windowTimer);
        windowTimer = setTimeout(stop, opts.durationMs);
        sample('attached');
        if (opts.onSample) windowLooks();
      }
    }
    outBytes += b.length;
    if (outBytes > opts.maxOutputBytes) {
      if (!outputTruncated) {
        outputTruncated = true;
        hardKill();
      }
      return;
    }
    out.push(b);
  });
  child.stderr.on('data', (b: Buffer) => {
    errBytes += b.length;
    if (errBytes <= 64 * 1024) err.push(b);
  });

  // In case our own signals went astray.
  const backstop = setTimeout(hardKill, lastMs);
  let cancelKill: NodeJS.Timeout | undefined;
  const onAbort = () => {
    cancelled = true;
    stopping();
    interrupt();
    endSentinel();
    cancelKill = setTimeout(hardKill, opts.cancelGraceMs ?? 500);
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  const clearTimers = () => {
    endSentinel();
    clearTimeout(backstop);
    clearTimeout(windowTimer);
    clearTimeout(graceTimer);
    clearTimeout(cancelKill);
    clearTimeout(windowSampler);
    clearInterval(exitSampler);
    opts.signal?.removeEventListener('abort', onAbort);
  };

  return new Promise((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimers();
      if (e.code === 'ENOENT' && child.pid === undefined) {
        reject(new CapabilityError(`${GUARD} (util-linux) is not installed on this node: captures do not run without it, as it is what stops them if the agent dies`));
      } else reject(e);
    });
    child.on('close', (exitCode, signal) => {
      exited = true;
      clearTimers();
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode,
        signal,
        cancelled,
        // When its --kill-after had to SIGKILL the command, `timeout` exits 137 or dies by SIGKILL itself.
        killed: killed || exitCode === 137 || signal === 'SIGKILL',
        outputTruncated,
        startedAt,
        attachedAt,
        stoppedAt,
        finishedAt: new Date(),
      });
    });
  });
}

/** How bpftrace is told the sentinel: it stops when the process given with `-p` exits (and `-p` filters uprobes only). */
export const BPFTRACE_SENTINEL_ARGS = (pid: number): string[] => ['-p', String(pid)];

/** bpftrace's stderr minus noise that does not indicate a problem (memlock rlimit is moot with memcg accounting). */
export function meaningfulStderr(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() && !l.includes('RLIMIT_MEMLOCK'))
    .join('\n')
    .trim();
}
