import { PROFILE_ARTIFACTS, type ProfileStacks } from '../../../src/flamegraph/artifacts.ts';
import { foldStacks, serializeFolded, topFunctions, totalSamples, type FoldedStack } from '../../../src/flamegraph/folded.ts';
import { readCountMap } from '../../bpftrace-output.ts';
import type { ProcessFacts, ProcessSymbols, ProfileProcess, ProfileResult } from './result.ts';

/** The map the program fills; bpftrace prints it at SIGINT. */
export const MAP_NAME = '@stacks';
const TOP_FUNCTIONS = 20;
const TOP_PROCESSES = 10;
/**
 * The most user frames bpftrace keeps (the kernel's perf_event_max_stack, 127): a stack this deep was cut by the
 * limit, not by a missing frame pointer.
 */
export const USER_STACK_LIMIT = 127;

/**
 * Where a thread's user stack begins: the program's entry (glibc, musl, the dynamic loader), a new thread's start
 * (glibc's start_thread, the clone wrappers, musl's start), Go's goroutine and thread roots. A walk that stops
 * elsewhere lost the frame-pointer chain: some function on the way was built without frame pointers.
 */
const STACK_ROOTS = new Set([
  '_start', '__start', '_start_c', '__libc_start_main', '__libc_start_main_impl', '__libc_start_call_main',
  '_dl_start', '_dl_start_user', 'start_thread', 'clone', '__clone', 'clone3', '__clone3', '__clone_internal',
  'thread_start', 'start', 'start_c', 'libc_start_main_stage2',
  'runtime.goexit', 'runtime.goexit.abi0', 'runtime.rt0_go', 'runtime.rt0_go.abi0', 'runtime.mstart', 'runtime.mstart.abi0',
]);

/**
 * True when a user stack (leaf first, named) ends abruptly: not empty (kernel threads have none), not cut at the
 * depth limit, and its outermost frame is not a thread's root. An [unknown] outermost frame counts: walking past
 * a function without frame pointers reads a stale frame pointer and ends in an address that is no code.
 */
export function isTruncated(user: readonly string[], rootModule?: string): boolean {
  const root = user[user.length - 1];
  if (root === undefined || user.length >= USER_STACK_LIMIT || STACK_ROOTS.has(root)) return false;
  // An unnamed outermost frame in the C library is where glibc starts threads (__libc_start_call_main and
  // start_thread are local symbols, unnamed without the library's debug symbols): the walk got there, it is whole.
  return !(root === '[unknown]' && rootModule !== undefined && C_LIBRARY.test(rootModule.slice(rootModule.lastIndexOf('/') + 1)));
}

const C_LIBRARY = /^(libc\.so(\.\d+)*|libc-\d[\d.]*\.so|ld-musl-[\w-]+\.so\.\d+|libc\.musl-[\w-]+\.so\.\d+)$/;

/** The file mapping a user-space address of a process (its path), or null. */
export type UserModuleResolver = (pid: number, address: bigint) => string | null;

export interface SampleKey {
  /** Leaf first, as bpftrace prints them, cleaned by cleanFrame. */
  kernel: string[];
  user: string[];
  pid: number;
  comm: string;
  /** The file holding the outermost user frame when it has no name (only with a module resolver): see isTruncated. */
  userRootModule?: string;
}

/**
 * Reads one stack at `pos`. bpftrace renders a stack as "" (none) or "\n" followed by one indented
 * "    frame\n" line per frame, so a stack ends at the first line that starts with "," — the key separator.
 * Frames may contain commas (C++ templates), which is why the key cannot simply be split on them.
 */
function readStack(key: string, pos: number, fail: (why: string) => Error): { frames: string[]; next: number } {
  // Raw frames, trimmed: user frames may be bare addresses for the agent to symbolize once the pid is known.
  const frames: string[] = [];
  if (key[pos] !== '\n') return { frames, next: pos };
  let at = pos + 1;
  while (at < key.length && key[at] !== ',') {
    const eol = key.indexOf('\n', at);
    if (eol < 0) throw fail('stack frame line without a line break');
    frames.push(key.slice(at, eol).trim());
    at = eol + 1;
  }
  return { frames, next: at };
}

/** "vfs_fstat+51" → "vfs_fstat"; bare addresses (no symbol: JIT code, stripped binaries) → "[unknown]". */
export function cleanFrame(raw: string): string {
  const frame = raw.trim();
  if (frame === '' || /^0x[0-9a-f]+$/i.test(frame)) return '[unknown]';
  return frame.replace(/\+(0x[0-9a-f]+|\d+)$/i, '');
}

/** Resolves a user-space address of a process to a function name; null when unknown. */
export type UserSymbolResolver = (pid: number, address: bigint) => string | null;

const ADDRESS = /^0x[0-9a-f]+$/i;

/**
 * Splits a "kstack,ustack,pid,comm" key; comm is last and takes the rest (it may contain commas).
 * bpftrace runs with BPFTRACE_NO_USER_SYMBOLS (its own per-stack symbolization is slow, and its cache is wrong
 * under ASLR), so user frames arrive as addresses and `resolveUser` names them; without it they stay "[unknown]".
 */
export function parseSampleKey(key: string, resolveUser?: UserSymbolResolver, moduleOf?: UserModuleResolver): SampleKey {
  const fail = (why: string): Error =>
    new Error(`unexpected ${MAP_NAME} key (${why}): ${JSON.stringify(key.slice(0, 200))}`);
  const kernel = readStack(key, 0, fail);
  if (key[kernel.next] !== ',') throw fail('no separator after the kernel stack');
  const user = readStack(key, kernel.next + 1, fail);
  if (key[user.next] !== ',') throw fail('no separator after the user stack');
  const rest = /^(\d+),([\s\S]*)$/.exec(key.slice(user.next + 1));
  if (rest === null) throw fail('no pid after the stacks');
  const [, pidText = '', comm = ''] = rest;
  const pid = Number(pidText);
  // Frames past the leaf are return addresses; one byte back is inside the call, so a call that ends a
  // function is not named after the function that follows it.
  const userFrame = (f: string, i: number) =>
    resolveUser && ADDRESS.test(f) ? (resolveUser(pid, BigInt(f) - (i > 0 ? 1n : 0n)) ?? '[unknown]') : cleanFrame(f);
  const named = user.frames.map(userFrame);
  const rootAddress = user.frames[user.frames.length - 1];
  const rootModule =
    moduleOf && named[named.length - 1] === '[unknown]' && rootAddress !== undefined && ADDRESS.test(rootAddress)
      ? moduleOf(pid, BigInt(rootAddress))
      : null;
  return { kernel: kernel.frames.map(cleanFrame), user: named, pid, comm, ...(rootModule ? { userRootModule: rootModule } : {}) };
}

/** Folded-stack frames for one sample: comm, user frames root-first, then kernel frames root-first marked "_[k]". */
export function sampleFrames(k: SampleKey): string[] {
  return [k.comm, ...[...k.user].reverse(), ...[...k.kernel].reverse().map((f) => `${f}_[k]`)];
}

function readSamples(stdout: string, resolveUser?: UserSymbolResolver, moduleOf?: UserModuleResolver): { key: SampleKey; count: number }[] {
  return Object.entries(readCountMap(stdout, MAP_NAME)).map(([key, count]) => ({ key: parseSampleKey(key, resolveUser, moduleOf), count }));
}

const fold = (samples: { key: SampleKey; count: number }[]): FoldedStack[] =>
  foldStacks(samples.map(({ key, count }) => ({ frames: sampleFrames(key), count })));

export function foldSamples(stdout: string, resolveUser?: UserSymbolResolver): FoldedStack[] {
  return fold(readSamples(stdout, resolveUser));
}

/** Samples per process, most first: a hot function is only actionable once it is known who runs it. */
export function topProcesses(samples: { key: SampleKey; count: number }[], n = TOP_PROCESSES): ProfileProcess[] {
  const byPid = new Map<number, ProfileProcess>();
  for (const { key, count } of samples) {
    const p = byPid.get(key.pid) ?? { pid: key.pid, comm: key.comm, samples: 0 };
    p.samples += count;
    byPid.set(key.pid, p);
  }
  return [...byPid.values()].sort((a, b) => b.samples - a.samples || a.pid - b.pid).slice(0, n);
}

/** Facts of a sampled process (ParseContext.userProcess); absent or null away from the node or once it is gone. */
export type ProcessFactsOf = (pid: number) => ProcessFacts | null;

const UNKNOWN_FACTS: ProcessFacts = { exe: null, runtime: null, runtimeVersion: null, perfMap: 'unknown', perfMapEntries: 0, perfMapFrames: 0 };

/**
 * Per process with user stacks, the most sampled first: its unknown and truncated samples beside what the agent
 * found of it (runtime, perf map). Asked after every address is named, so the perf map's count is complete.
 */
export function symbolization(samples: { key: SampleKey; count: number }[], factsOf?: ProcessFactsOf, n = TOP_PROCESSES): ProcessSymbols[] {
  const byPid = new Map<number, { pid: number; comm: string; samples: number; unknownSamples: number; truncatedSamples: number }>();
  for (const { key, count } of samples) {
    if (key.user.length === 0) continue;
    const p = byPid.get(key.pid) ?? { pid: key.pid, comm: key.comm, samples: 0, unknownSamples: 0, truncatedSamples: 0 };
    p.samples += count;
    if (key.user.includes('[unknown]') || key.kernel.includes('[unknown]')) p.unknownSamples += count;
    if (isTruncated(key.user, key.userRootModule)) p.truncatedSamples += count;
    byPid.set(key.pid, p);
  }
  return [...byPid.values()]
    .sort((a, b) => b.samples - a.samples || a.pid - b.pid)
    .slice(0, n)
    .map((p) => ({ ...(factsOf?.(p.pid) ?? UNKNOWN_FACTS), ...p }));
}

/**
 * The profile's result and its folded stacks. It renders nothing: the agent asks src/flamegraph/artifacts.ts for
 * the files (flame graph, speedscope, pprof), whose names the result lists.
 */
export function parseProfile(
  stdout: string,
  hz: number,
  resolveUser?: UserSymbolResolver,
  factsOf?: ProcessFactsOf,
  moduleOf?: UserModuleResolver,
): { result: ProfileResult; stacks: ProfileStacks } {
  const sampled = readSamples(stdout, resolveUser, moduleOf);
  const folded = fold(sampled);
  const samples = totalSamples(folded);
  return {
    result: {
      samples,
      hz,
      unknownSamples: folded.reduce((n, s) => n + (s.frames.includes('[unknown]') ? s.count : 0), 0),
      truncatedSamples: sampled.reduce((n, s) => n + (isTruncated(s.key.user, s.key.userRootModule) ? s.count : 0), 0),
      topFunctions: topFunctions(folded, TOP_FUNCTIONS),
      processes: topProcesses(sampled),
      symbolization: symbolization(sampled, factsOf),
      artifacts: [...PROFILE_ARTIFACTS],
    },
    stacks: { folded: serializeFolded(folded), samples, hz },
  };
}
