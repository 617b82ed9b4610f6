// The Java side of the JIT profiling tests: compile test/fixtures/jit/Busy.java, know when HotSpot has compiled its
// hot methods, and have the running JVM write its perf map (`jcmd <pid> Compiler.perfmap`, JDK 17+).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep } from './kernel.ts';
import type { Jdk } from './runtimes.ts';

const execFileAsync = promisify(execFile);

export const BUSY_JAVA = new URL('../fixtures/jit/Busy.java', import.meta.url).pathname;
/** The hot methods of Busy, as HotSpot's perf map names them (return type, class, method, parameters). */
export const BUSY_METHODS = { alpha: 'long Busy.burnAlpha()', beta: 'long Busy.burnBeta()' } as const;

/** Compiles Busy.java into a fresh temporary directory (its class path); class files are never kept in the tree. */
export async function compileBusy(jdk: Jdk): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'th-java-'));
  await execFileAsync(jdk.javac, ['-d', dir, BUSY_JAVA], { timeout: 120_000 });
  return dir;
}

/**
 * java arguments for Busy: -XX:+PreserveFramePointer keeps rbp a frame pointer in JIT-compiled code (without it
 * the stack walk stops at the first compiled frame), and the JIT's compilation log goes to `jitLog`, where
 * {@link compiledAtTier4} sees the hot methods' final code appear.
 */
export const busyArgs = (classPath: string, jitLog: string, extra: string[] = []): string[] => [
  '-XX:+PreserveFramePointer', `-Xlog:jit+compilation=debug:file=${jitLog}`, ...extra, '-cp', classPath, 'Busy',
];

/**
 * True once C2 (tier 4) has compiled both hot loops: the code a profile will sample from then on. Until then the
 * interpreter and C1 code run, and C1's on-stack-replacement code is thrown away ("made not entrant") when C2's
 * arrives. Log lines look like `[2.934s][debug][jit,compilation]   32 %     4       Busy::burnAlpha @ 4 (26 bytes)`.
 */
export function compiledAtTier4(jitLog: string): boolean {
  if (!existsSync(jitLog)) return false;
  const log = readFileSync(jitLog, 'utf8');
  return ['burnAlpha', 'burnBeta'].every((m) => new RegExp(`^\\[.*\\]\\s+\\d+\\s+[%sbn!]*\\s*4\\s+Busy::${m} @ \\d+ `, 'm').test(log));
}

/** Waits (up to `limitMs`: JVM start and compilation are slow on a loaded host) for {@link compiledAtTier4}. */
export async function waitForTier4(jitLog: string, limitMs = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!compiledAtTier4(jitLog)) {
    if (Date.now() - t0 > limitMs) throw new Error(`Busy's hot methods were not compiled at tier 4 within ${limitMs} ms (log: ${jitLog})`);
    await sleep(200);
  }
}

/**
 * Has the JVM write /tmp/perf-<pid>.map now: a snapshot of its code cache (code compiled later is not in it).
 * The attach takes seconds on a loaded host (the JVM starts its attach listener on SIGQUIT), past jcmd's default
 * 10 s timeout at times, hence the longer one.
 */
export async function writePerfMap(jdk: Jdk, pid: number): Promise<string> {
  await execFileAsync(jdk.jcmd, ['-J-Dsun.tools.attach.attachTimeout=60000', String(pid), 'Compiler.perfmap'], { timeout: 120_000 });
  return `/tmp/perf-${pid}.map`;
}

/** What a JVM leaves in /tmp when it is killed: its attach socket and its perf data file. */
export const jvmLeftovers = (pid: number): string[] => [`/tmp/.java_pid${pid}`, `/tmp/hsperfdata_${userInfo().username}/${pid}`];
