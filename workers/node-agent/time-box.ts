import { spawn } from 'node:child_process';

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
  finishedAt: Date;
}

export interface TimeBoxOptions {
  command: string;
  args: string[];
  durationMs: number;
  killGraceMs: number;
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
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

/**
 * Runs a command for `durationMs` (counted from its start marker when given), then SIGINT (bpftrace prints its maps and exits), then SIGKILL after
 * `killGraceMs`. The command runs under coreutils `timeout`, so the time box holds even if this process dies
 * mid-capture; our own timers enforce it again in case `timeout` itself misbehaves. Never uses a shell.
 */
export function runTimeBoxed(opts: TimeBoxOptions): Promise<TimeBoxedRun> {
  const startedAt = new Date();
  const startupMs = opts.startMarker ? (opts.startupMs ?? 30_000) : 0;
  // `timeout` holds the outer bound (startup + window); our own timer closes the window exactly after attach.
  const outerMs = startupMs + opts.durationMs;
  const child = spawn(
    'timeout',
    ['--signal=INT', `--kill-after=${secs(opts.killGraceMs)}s`, `${secs(outerMs)}s`, opts.command, ...opts.args],
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

  let attachedAt: Date | null = null;
  let windowTimer: NodeJS.Timeout | undefined;
  const interrupt = () => {
    if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGINT');
  };
  let head = ''; // the marker may straddle two chunks
  child.stdout.on('data', (b: Buffer) => {
    if (opts.startMarker && !attachedAt && head.length < 65_536) {
      head += b.toString('utf8');
      if (head.includes(opts.startMarker)) {
        attachedAt = new Date();
        windowTimer = setTimeout(interrupt, opts.durationMs);
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

  const backstop = setTimeout(hardKill, outerMs + opts.killGraceMs + 1000);
  let cancelKill: NodeJS.Timeout | undefined;
  const onAbort = () => {
    cancelled = true;
    // Only to `timeout`, which forwards it: a second SIGINT straight to bpftrace could cut its map printing short.
    interrupt();
    cancelKill = setTimeout(hardKill, opts.cancelGraceMs ?? 500);
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  return new Promise((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(backstop);
      reject(e);
    });
    child.on('close', (exitCode, signal) => {
      exited = true;
      clearTimeout(backstop);
      if (windowTimer) clearTimeout(windowTimer);
      if (cancelKill) clearTimeout(cancelKill);
      opts.signal?.removeEventListener('abort', onAbort);
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
        finishedAt: new Date(),
      });
    });
  });
}

/** bpftrace's stderr minus noise that does not indicate a problem (memlock rlimit is moot with memcg accounting). */
export function meaningfulStderr(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() && !l.includes('RLIMIT_MEMLOCK'))
    .join('\n')
    .trim();
}
