/**
 * What the tools keyed by stacks share (profile's samples, offcputime's blocks): how bpftrace prints a
 * "kstack,ustack,pid,comm" map key, how its frames are named (user addresses by the agent's symbolizer), how a key
 * becomes a folded-stack line, and the limits and environment such a capture needs. Each tool keeps what is its own
 * (profile: truncated stacks; offcputime: what a block waited in).
 */
import type { BpftraceTool } from './tool.ts';

/** Resolves a user-space address of a process to a function name; null when unknown. */
export type UserSymbolResolver = (pid: number, address: bigint) => string | null;

/** The file mapping a user-space address of a process (its path), or null. */
export type UserModuleResolver = (pid: number, address: bigint) => string | null;

export interface SampleKey {
  /** Leaf first, as bpftrace prints them, cleaned by cleanFrame. */
  kernel: string[];
  user: string[];
  pid: number;
  comm: string;
  /** The file holding the outermost user frame when it has no name (only with a module resolver): see profile's isTruncated. */
  userRootModule?: string;
}

/**
 * Two stacks of up to 127 frames each in every key make these tools' output large (hence the output cap), and
 * printing it takes long (hence the stop grace: resolving symbols for a big binary such as node's ~100 MB of ELF
 * took 4.7 s here after a 4 s capture). Short captures: both probe every CPU all the time.
 */
export const STACK_KEYED_LIMITS: BpftraceTool['limits'] = {
  minDurationMs: 1_000,
  maxDurationMs: 60_000,
  defaultDurationMs: 10_000,
  maxOutputBytes: 32 * 1024 * 1024,
  stopGraceMs: 15_000,
};

/**
 * bpftrace 0.17 rebuilds a symbol table per stack without its cache, and its cache is keyed by executable, which is
 * wrong under ASLR: the agent names user addresses itself (ParseContext.userSymbol), so bpftrace prints addresses.
 */
export const AGENT_NAMES_USER_FRAMES = { BPFTRACE_NO_USER_SYMBOLS: '1' } as const;

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

const ADDRESS = /^0x[0-9a-f]+$/i;

export interface StackKeyOptions {
  /** The map the key was read from, for the error that names a key the program would not print. */
  map: string;
  resolveUser?: UserSymbolResolver;
  moduleOf?: UserModuleResolver;
}

/**
 * Splits a "kstack,ustack,pid,comm" key; comm is last and takes the rest (it may contain commas).
 * bpftrace runs with BPFTRACE_NO_USER_SYMBOLS (AGENT_NAMES_USER_FRAMES), so user frames arrive as addresses and
 * `resolveUser` names them; without it they stay "[unknown]".
 */
export function parseStackKey(key: string, { map, resolveUser, moduleOf }: StackKeyOptions): SampleKey {
  const fail = (why: string): Error => new Error(`unexpected ${map} key (${why}): ${JSON.stringify(key.slice(0, 200))}`);
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

/** Folded-stack frames for one key: comm, user frames root-first, then kernel frames root-first marked "_[k]". */
export function sampleFrames(k: SampleKey): string[] {
  return [k.comm, ...[...k.user].reverse(), ...[...k.kernel].reverse().map((f) => `${f}_[k]`)];
}
