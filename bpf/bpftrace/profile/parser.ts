import { PROFILE_ARTIFACTS, type ProfileStacks } from '../../../src/flamegraph/artifacts.ts';
import { foldStacks, serializeFolded, topFunctions, totalSamples, type FoldedStack } from '../../../src/flamegraph/folded.ts';
import { readCountMap } from '../../bpftrace-output.ts';
import type { ProfileProcess, ProfileResult } from './result.ts';

/** The map the program fills; bpftrace prints it at SIGINT. */
export const MAP_NAME = '@stacks';
const TOP_FUNCTIONS = 20;
const TOP_PROCESSES = 10;

export interface SampleKey {
  /** Leaf first, as bpftrace prints them, cleaned by cleanFrame. */
  kernel: string[];
  user: string[];
  pid: number;
  comm: string;
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
export function parseSampleKey(key: string, resolveUser?: UserSymbolResolver): SampleKey {
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
  return { kernel: kernel.frames.map(cleanFrame), user: user.frames.map(userFrame), pid, comm };
}

/** Folded-stack frames for one sample: comm, user frames root-first, then kernel frames root-first marked "_[k]". */
export function sampleFrames(k: SampleKey): string[] {
  return [k.comm, ...[...k.user].reverse(), ...[...k.kernel].reverse().map((f) => `${f}_[k]`)];
}

function readSamples(stdout: string, resolveUser?: UserSymbolResolver): { key: SampleKey; count: number }[] {
  return Object.entries(readCountMap(stdout, MAP_NAME)).map(([key, count]) => ({ key: parseSampleKey(key, resolveUser), count }));
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

/**
 * The profile's result and its folded stacks. It renders nothing: the agent asks src/flamegraph/artifacts.ts for
 * the files (flame graph, speedscope, pprof), whose names the result lists.
 */
export function parseProfile(stdout: string, hz: number, resolveUser?: UserSymbolResolver): { result: ProfileResult; stacks: ProfileStacks } {
  const sampled = readSamples(stdout, resolveUser);
  const folded = fold(sampled);
  const samples = totalSamples(folded);
  return {
    result: {
      samples,
      hz,
      unknownSamples: folded.reduce((n, s) => n + (s.frames.includes('[unknown]') ? s.count : 0), 0),
      topFunctions: topFunctions(folded, TOP_FUNCTIONS),
      processes: topProcesses(sampled),
      artifacts: [...PROFILE_ARTIFACTS],
    },
    stacks: { folded: serializeFolded(folded), samples, hz },
  };
}
