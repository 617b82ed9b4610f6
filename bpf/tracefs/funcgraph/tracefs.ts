import { constants as fsConstants } from 'node:fs';
import { open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConflictError } from '../../../src/core/errors.ts';
import { isStillRunning, startTicksOf } from '../../procfs/process-stat.ts';

/**
 * ftrace's top-level buffer and its settings are global to the kernel: whoever writes current_tracer last wins, and
 * a tool that dies without putting things back leaves every later user (and the node's performance) with its
 * tracer. Everything here exists so that a capture changes tracefs only under a lock, and so that whatever it
 * changed is written back — by the capture itself, or by the next one if the agent died mid-capture.
 */

export const DEFAULT_LOCK_PATH = '/run/tracehound-ftrace.lock';
/** The lock perf-tools' scripts (funcgraph, kprobe, ...) hold while they drive tracefs: a pid, one line. */
export const PERF_TOOLS_LOCK_PATH = '/var/tmp/.ftrace-lock';

/** One tracefs file (relative to the tracefs root) and the text that puts it back the way it was. */
export const SavedFile = z.object({ file: z.string(), value: z.string() });
export type SavedFile = z.infer<typeof SavedFile>;

export const SavedTracefsState = z.object({
  version: z.literal(1),
  tracefs: z.string(),
  /** In the order they were saved; restored in reverse (current_tracer first and tracing_on last, whatever the order). */
  files: z.array(SavedFile),
  /** The trace buffer holds what the capture recorded: empty it on restore so nobody else reads it. */
  clearBuffer: z.boolean(),
});
export type SavedTracefsState = z.infer<typeof SavedTracefsState>;

/** A setting that cannot be saved in a form that writing it back would reproduce; nothing was changed. */
export class UnrestorableStateError extends ConflictError {}

/** Files that hold lists (functions, pids): written back as one space-separated line. */
const LIST_FILES = new Set([
  'set_ftrace_filter',
  'set_ftrace_notrace',
  'set_graph_function',
  'set_graph_notrace',
  'set_ftrace_pid',
  'set_ftrace_notrace_pid',
  'set_event_pid',
  'set_event_notrace_pid',
]);
// Function names (with GCC suffixes such as ".isra.0") and pids. Anything else — "func:traceoff:5" commands,
// "func [module]" entries, globs — would not come back as it was when written back, so we refuse to touch it.
const LIST_ITEM = /^[A-Za-z0-9_.$]+$/;
// "#### all functions enabled ####" (empty function list), "no pid" (empty pid list).
const EMPTY_LIST_LINE = /^(#.*|no pid)$/;
const RELATIVE_FILE = /^(?!.*\.\.)[a-z0-9_]+(\/[a-z0-9_.-]+)?$/i;

function pathOf(tracefs: string, file: string): string {
  if (!RELATIVE_FILE.test(file)) throw new Error(`not a tracefs file name: ${JSON.stringify(file)}`);
  return join(tracefs, file);
}

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

export async function readTracefsFile(tracefs: string, file: string): Promise<string> {
  try {
    return await readFile(pathOf(tracefs, file), 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${tracefs}/${file}: ${errText(err)}`, { cause: err });
  }
}

/** Writes like `echo value > file` (O_TRUNC, trailing newline): an empty value clears a list file. */
export async function writeTracefsFile(tracefs: string, file: string, value: string): Promise<void> {
  try {
    await writeFile(pathOf(tracefs, file), `${value}\n`);
  } catch (err) {
    throw new Error(`cannot write ${JSON.stringify(value)} to ${tracefs}/${file}: ${errText(err)}`, { cause: err });
  }
}

/** The text that, written back to `file`, restores what `content` (read from it) describes. */
export function restorableValue(file: string, content: string): string {
  const base = file.split('/').pop() ?? file;
  if (LIST_FILES.has(base)) {
    const items = content
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !EMPTY_LIST_LINE.test(l));
    const odd = items.find((i) => !LIST_ITEM.test(i));
    if (odd !== undefined) {
      throw new UnrestorableStateError(`${file} holds ${JSON.stringify(odd)}, which could not be written back as it is; not touching ftrace`);
    }
    return items.join(' ');
  }
  const value = content.trim();
  if (base === 'buffer_size_kb') {
    // "1408" once a tracer has run, "7 (expanded: 1408)" before; "X" when per-CPU sizes differ.
    const m = /^(\d+)(?: \(expanded: (\d+)\))?$/.exec(value);
    if (!m) throw new UnrestorableStateError(`${file} reads ${JSON.stringify(value)}: per-CPU sizes differ; not touching ftrace`);
    return m[2] ?? m[1] ?? '';
  }
  if (value.includes('\n')) throw new UnrestorableStateError(`${file} holds several lines; not touching ftrace`);
  return value;
}

/** Reads every file first, so that a file we cannot read or restore stops us before anything changed. */
export async function saveTracefs(tracefs: string, files: readonly string[], clearBuffer = true): Promise<SavedTracefsState> {
  const unique = [...new Set(files)];
  const saved: SavedFile[] = [];
  for (const file of unique) saved.push({ file, value: restorableValue(file, await readTracefsFile(tracefs, file)) });
  return { version: 1, tracefs, files: saved, clearBuffer };
}

/**
 * Writes every saved file back: recording stops first, the tracer goes next (so nothing traces while the filters
 * change under it), then the rest in reverse order, the buffer is emptied, and tracing_on comes last. Every step
 * is tried even when one fails; the failures are reported together. Safe to call again with the same state.
 */
export async function restoreTracefs(tracefs: string, saved: SavedTracefsState): Promise<void> {
  const errors: string[] = [];
  const attempt = async (what: () => Promise<void>) => {
    try {
      await what();
    } catch (err) {
      errors.push((err as Error).message);
    }
  };
  const byFile = new Map(saved.files.map((f) => [f.file, f.value]));
  const tracingOn = byFile.get('tracing_on');
  const tracer = byFile.get('current_tracer');
  if (tracingOn !== undefined) await attempt(() => writeTracefsFile(tracefs, 'tracing_on', '0'));
  if (tracer !== undefined) await attempt(() => writeTracefsFile(tracefs, 'current_tracer', tracer));
  for (const { file, value } of [...saved.files].reverse()) {
    if (file === 'tracing_on' || file === 'current_tracer') continue;
    await attempt(() => writeTracefsFile(tracefs, file, value));
  }
  if (saved.clearBuffer) await attempt(() => writeTracefsFile(tracefs, 'trace', ''));
  if (tracingOn !== undefined) await attempt(() => writeTracefsFile(tracefs, 'tracing_on', tracingOn));
  if (errors.length > 0) throw new Error(`tracefs not fully restored: ${errors.join('; ')}`);
}

const LockRecord = z.object({
  pid: z.number().int(),
  /** /proc/<pid>/stat starttime: tells a live owner from a new process that got the same pid. */
  startTime: z.string().nullable(),
  createdAt: z.string(),
  state: SavedTracefsState.nullable(),
});
type LockRecord = z.infer<typeof LockRecord>;

/** Lock files this process holds right now; a lock naming our pid but not in here was left by a failed restore. */
const held = new Set<string>();

/**
 * Whether `pid` still runs (and is the process that wrote the lock, when its start time was recorded). The lock
 * file keeps the start time as the text /proc showed, as earlier agents wrote it.
 */
export function isLive(procRoot: string, pid: number, startTime: string | null): boolean {
  const startTicks = startTime === null || !/^\d+$/.test(startTime) ? null : Number(startTime);
  return isStillRunning({ pid, startTicks }, procRoot);
}

const GARBLED_LOCK_GRACE_MS = 60_000;

export class FtraceLock {
  private released = false;
  constructor(
    readonly path: string,
    private record: LockRecord,
  ) {}

  /** Stores the state to restore in the lock file, before anything changes, so a successor can restore it. */
  async recordState(state: SavedTracefsState | null): Promise<void> {
    this.record = { ...this.record, state };
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(this.record), { mode: 0o600 });
    await rename(tmp, this.path); // atomic: the lock file never disappears in between
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    held.delete(this.path);
    await unlink(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Gives up the lock but leaves the file (and the state in it) for the next capture to restore. */
  abandon(): void {
    this.released = true;
    held.delete(this.path);
  }
}

export interface LockOptions {
  lockPath?: string;
  procRoot?: string;
}

/**
 * Takes the ftrace lock: a file created with O_EXCL holding our pid. A lock whose owner is gone is stale; if it
 * holds a saved state, that state is restored first (the owner died mid-capture) and the lock is taken over.
 */
export async function acquireFtraceLock(opts: LockOptions = {}): Promise<FtraceLock> {
  const path = opts.lockPath ?? DEFAULT_LOCK_PATH;
  const procRoot = opts.procRoot ?? '/proc';
  const startTicks = startTicksOf(process.pid, procRoot);
  const record: LockRecord = {
    pid: process.pid,
    startTime: startTicks === null ? null : String(startTicks),
    createdAt: new Date().toISOString(),
    state: null,
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
      try {
        await fh.writeFile(JSON.stringify(record));
      } finally {
        await fh.close();
      }
      held.add(path);
      return new FtraceLock(path, record);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create ftrace lock ${path}: ${errText(err)}`, { cause: err });
    }
    await recoverStaleLock(path, procRoot);
  }
  throw new ConflictError(`ftrace lock ${path} keeps being taken by others; try again`);
}

/** What a stale lock held: its owner (null when the file was unreadable) and the state restored from it, if any. */
interface StaleLock {
  owner: LockRecord | null;
  restored: SavedTracefsState | null;
}

/** Restores and removes a lock whose owner is gone; null when there is no lock file. Throws ConflictError while it is held. */
async function recoverStaleLock(path: string, procRoot: string): Promise<StaleLock | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // released meanwhile: try again
    throw err;
  }
  let owner: LockRecord | null = null;
  try {
    owner = LockRecord.parse(JSON.parse(text));
  } catch {
    // Written by something else, or its owner died between creating and filling it.
    const age = Date.now() - (await stat(path)).mtimeMs;
    if (age < GARBLED_LOCK_GRACE_MS) throw new ConflictError(`ftrace lock ${path} is held (unreadable contents); try again`);
  }
  if (owner) {
    const ours = owner.pid === process.pid;
    if (ours && held.has(path)) throw new ConflictError(`ftrace is in use by another capture of this agent (lock ${path})`);
    if (!ours && isLive(procRoot, owner.pid, owner.startTime)) {
      throw new ConflictError(`ftrace is in use by pid ${owner.pid} since ${owner.createdAt} (lock ${path})`);
    }
    if (owner.state) {
      try {
        await restoreTracefs(owner.state.tracefs, owner.state);
      } catch (err) {
        throw new Error(`a capture by pid ${owner.pid} died without restoring ftrace, and restoring it failed: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  // Only remove the file we judged: another recoverer may have replaced it meanwhile.
  const again = await readFile(path, 'utf8').catch(() => null);
  if (again === text) await unlink(path).catch(() => undefined);
  return { owner, restored: owner?.state ?? null };
}

export type FtraceLockRecovery =
  /** No lock file: the last capture cleaned up after itself. */
  | { status: 'free' }
  /** A live process holds the lock (or just created it): nothing was touched. */
  | { status: 'in-use'; reason: string }
  /** The owner is gone: the state it saved (if it had saved any) was written back and the lock removed. */
  | { status: 'recovered'; pid: number | null; createdAt: string | null; restored: SavedTracefsState | null };

/**
 * For an agent starting up: if the ftrace lock was left by a process that is gone (the previous agent was killed
 * mid-capture), put tracefs back the way that capture found it now, rather than leaving the node with its
 * tracer, filters and pid list until the next funcgraph capture happens to take the lock. Throws when restoring
 * fails (the lock stays, with its state, for the next capture to try again).
 */
export async function recoverAbandonedFtraceLock(opts: LockOptions = {}): Promise<FtraceLockRecovery> {
  const path = opts.lockPath ?? DEFAULT_LOCK_PATH;
  let stale: StaleLock | null;
  try {
    stale = await recoverStaleLock(path, opts.procRoot ?? '/proc');
  } catch (err) {
    if (err instanceof ConflictError) return { status: 'in-use', reason: err.message };
    throw err;
  }
  if (!stale) return { status: 'free' };
  return { status: 'recovered', pid: stale.owner?.pid ?? null, createdAt: stale.owner?.createdAt ?? null, restored: stale.restored };
}
