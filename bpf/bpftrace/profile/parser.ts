import { PROFILE_ARTIFACTS, type ProfileStacks } from '../../../src/flamegraph/artifacts.ts';
import { foldStacks, serializeFolded, topFunctions, totalSamples, type FoldedStack } from '../../../src/flamegraph/folded.ts';
import { readCountMap } from '../../bpftrace-output.ts';
import { parseStackKey, sampleFrames, type SampleKey, type UserModuleResolver, type UserSymbolResolver } from '../../stack-keys.ts';
import type { ProcessFacts, ProcessSymbols, ProfileProcess, ProfileResult } from './result.ts';

// Where the stack-key reading lived before both stack tools shared it; the profile's own tests still import it here.
export { cleanFrame, sampleFrames, type SampleKey, type UserModuleResolver, type UserSymbolResolver } from '../../stack-keys.ts';

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

/**
 * Splits one key of MAP_NAME (bpf/stack-keys.ts); user addresses are named by `resolveUser`, and the module of an
 * unnamed outermost frame found by `moduleOf` (isTruncated).
 */
export function parseSampleKey(key: string, resolveUser?: UserSymbolResolver, moduleOf?: UserModuleResolver): SampleKey {
  return parseStackKey(key, { map: MAP_NAME, resolveUser, moduleOf });
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
