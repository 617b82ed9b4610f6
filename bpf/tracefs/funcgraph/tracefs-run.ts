import { constants as fsConstants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError } from '../../../src/core/errors.ts';
import {
  acquireFtraceLock,
  isLive,
  PERF_TOOLS_LOCK_PATH,
  readTracefsFile,
  restoreTracefs,
  saveTracefs,
  writeTracefsFile,
} from './tracefs.ts';

export interface TracefsSetting {
  file: string;
  value: string;
}

export interface TracefsCapturePlan {
  tracefs: string;
  /** Written before the tracer is set (filters, pids, depth). */
  before: TracefsSetting[];
  tracer: string;
  /** Written after the tracer is set (options, which older kernels only accept for the current tracer). */
  after: TracefsSetting[];
  durationMs: number;
  /** The text read is cut at the last whole line within this many bytes, and the capture stops there. */
  maxBytes: number;
  signal: AbortSignal;
  lockPath?: string;
  perfToolsLockPath?: string;
  procRoot?: string;
  /** How long to wait between reads when trace_pipe is empty. */
  pollMs?: number;
}

export interface TracefsCaptureOutput {
  text: string;
  truncated: boolean;
  /** The signal fired: the capture stopped early and did not drain what was still buffered. */
  aborted: boolean;
}

/** Someone else is using the top-level ftrace buffer: we would clobber their settings or steal their events. */
async function assertIdle(plan: TracefsCapturePlan, procRoot: string): Promise<void> {
  const tracer = (await readTracefsFile(plan.tracefs, 'current_tracer')).trim();
  if (tracer !== 'nop') throw new ConflictError(`ftrace is in use: current_tracer is ${tracer} (expected nop)`);
  const events = await readFile(join(plan.tracefs, 'events/enable'), 'utf8').catch(() => '0');
  if (events.trim() !== '0') throw new ConflictError('ftrace is in use: trace events are enabled in the top-level buffer');
  const perfTools = plan.perfToolsLockPath ?? PERF_TOOLS_LOCK_PATH;
  const holder = await readFile(perfTools, 'utf8').catch(() => null);
  const pid = holder === null ? NaN : Number(holder.trim());
  // perf-tools leave the file behind when killed: only a live holder counts.
  if (Number.isInteger(pid) && pid > 0 && isLive(procRoot, pid, null)) {
    throw new ConflictError(`ftrace is in use by perf-tools (pid ${pid}, lock ${perfTools})`);
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Reads trace_pipe without ever blocking: a blocking read would hold a libuv worker until the kernel has data. */
class PipeReader {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  private readonly buf = Buffer.alloc(64 * 1024);

  constructor(
    private readonly fh: FileHandle,
    private readonly maxBytes: number,
  ) {}

  /** Reads what is there; false when the pipe was empty (or the cap was reached). */
  async readSome(): Promise<boolean> {
    if (this.truncated) return false;
    let n: number;
    try {
      ({ bytesRead: n } = await this.fh.read(this.buf, 0, this.buf.length, null));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return false;
      throw err;
    }
    if (n === 0) return false;
    const room = this.maxBytes - this.size;
    if (n > room) {
      this.truncated = true;
      // Keep whole lines only: a cut line would be misread.
      const head = this.buf.subarray(0, room);
      const lastNewline = head.lastIndexOf(0x0a);
      if (lastNewline >= 0) this.push(head.subarray(0, lastNewline + 1));
      return false;
    }
    this.push(this.buf.subarray(0, n));
    return true;
  }

  private push(b: Buffer): void {
    this.chunks.push(Buffer.from(b));
    this.size += b.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * One tracefs capture under the ftrace lock: checks nobody else is tracing, saves every file it will change (into
 * the lock file too), sets them, streams trace_pipe until the duration ends, the output cap is reached or the signal
 * fires, and restores everything in a finally. If restoring fails, the lock file keeps the saved state for the
 * next capture to restore.
 */
export async function runTracefsCapture(plan: TracefsCapturePlan): Promise<TracefsCaptureOutput> {
  if (plan.signal.aborted) return { text: '', truncated: false, aborted: true };
  const procRoot = plan.procRoot ?? '/proc';
  const lock = await acquireFtraceLock({ lockPath: plan.lockPath, procRoot });
  let restoreFailed = false;
  try {
    await assertIdle(plan, procRoot);
    const settings = [...plan.before, ...plan.after];
    const state = await saveTracefs(plan.tracefs, ['tracing_on', 'current_tracer', ...settings.map((s) => s.file)]);
    await lock.recordState(state);
    let outcome: { ok: true; output: TracefsCaptureOutput } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, output: await capture(plan) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    try {
      await restoreTracefs(plan.tracefs, state);
    } catch (err) {
      restoreFailed = true;
      if (outcome.ok) throw err;
      throw new Error(`${(err as Error).message} (after the capture failed: ${(outcome.error as Error).message})`, { cause: err });
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.output;
  } finally {
    if (restoreFailed) lock.abandon();
    else await lock.release();
  }
}

async function capture(plan: TracefsCapturePlan): Promise<TracefsCaptureOutput> {
  const { tracefs, signal } = plan;
  await writeTracefsFile(tracefs, 'tracing_on', '0');
  for (const s of plan.before) await writeTracefsFile(tracefs, s.file, s.value);
  await writeTracefsFile(tracefs, 'current_tracer', plan.tracer);
  for (const s of plan.after) await writeTracefsFile(tracefs, s.file, s.value);
  await writeTracefsFile(tracefs, 'trace', '');

  const fh = await open(join(tracefs, 'trace_pipe'), fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const reader = new PipeReader(fh, plan.maxBytes);
    const pollMs = plan.pollMs ?? 100;
    const deadline = Date.now() + plan.durationMs;
    await writeTracefsFile(tracefs, 'tracing_on', '1');
    while (!signal.aborted && !reader.truncated) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (!(await reader.readSome())) await pause(Math.min(pollMs, left), signal);
    }
    await writeTracefsFile(tracefs, 'tracing_on', '0');
    // What was recorded before the stop is still buffered; an abort means stop at once, so it is left unread.
    if (!signal.aborted) while (await reader.readSome());
    return { text: reader.text(), truncated: reader.truncated, aborted: signal.aborted };
  } finally {
    await fh.close();
  }
}
