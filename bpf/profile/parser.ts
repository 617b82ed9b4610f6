import type { ProfileResult } from '../../src/core/tool-results.ts';
import { foldStacks, serializeFolded, topFunctions, totalSamples, type FoldedStack } from '../../src/flamegraph/folded.ts';
import { readCountMap } from '../bpftrace-output.ts';
import type { Parsed } from '../tool.ts';

/** The map the program fills; bpftrace prints it at SIGINT. */
export const MAP_NAME = '@stacks';
export const FOLDED_ARTIFACT = 'stacks.folded';
const TOP_FUNCTIONS = 20;

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
  const frames: string[] = [];
  if (key[pos] !== '\n') return { frames, next: pos };
  let at = pos + 1;
  while (at < key.length && key[at] !== ',') {
    const eol = key.indexOf('\n', at);
    if (eol < 0) throw fail('stack frame line without a line break');
    frames.push(cleanFrame(key.slice(at, eol)));
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

/** Splits a "kstack,ustack,pid,comm" key; comm is last and takes the rest (it may contain commas). */
export function parseSampleKey(key: string): SampleKey {
  const fail = (why: string): Error =>
    new Error(`unexpected ${MAP_NAME} key (${why}): ${JSON.stringify(key.slice(0, 200))}`);
  const kernel = readStack(key, 0, fail);
  if (key[kernel.next] !== ',') throw fail('no separator after the kernel stack');
  const user = readStack(key, kernel.next + 1, fail);
  if (key[user.next] !== ',') throw fail('no separator after the user stack');
  const rest = /^(\d+),([\s\S]*)$/.exec(key.slice(user.next + 1));
  if (rest === null) throw fail('no pid after the stacks');
  const [, pid = '', comm = ''] = rest;
  return { kernel: kernel.frames, user: user.frames, pid: Number(pid), comm };
}

/** Folded-stack frames for one sample: comm, user frames root-first, then kernel frames root-first marked "_[k]". */
export function sampleFrames(k: SampleKey): string[] {
  return [k.comm, ...[...k.user].reverse(), ...[...k.kernel].reverse().map((f) => `${f}_[k]`)];
}

export function foldSamples(stdout: string): FoldedStack[] {
  return foldStacks(
    Object.entries(readCountMap(stdout, MAP_NAME)).map(([key, count]) => ({ frames: sampleFrames(parseSampleKey(key)), count })),
  );
}

export function parseProfile(stdout: string, hz: number): Parsed<ProfileResult> {
  const folded = foldSamples(stdout);
  return {
    result: {
      samples: totalSamples(folded),
      hz,
      topFunctions: topFunctions(folded, TOP_FUNCTIONS),
      artifacts: [FOLDED_ARTIFACT],
    },
    extraArtifacts: [{ file: FOLDED_ARTIFACT, contentType: 'text/plain; charset=utf-8', body: serializeFolded(folded) }],
  };
}
