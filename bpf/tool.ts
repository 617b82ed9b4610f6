import type { z } from 'zod';
import type { Requirement, ToolVariantSpec } from '../src/core/capabilities.ts';
import type { ProfileStacks } from '../src/flamegraph/artifacts.ts';
import type { ProcessFacts } from './bpftrace/profile/result.ts';
import type { FileResolution } from './failing-file.ts';

/** What a node must offer for a tool to run; checked by the agent against its detected capabilities. */
export type { Requirement };

/** One way of running a tool (ToolVariantSpec): a bpftrace tool's variant has a program of its own. */
export type ToolVariant = ToolVariantSpec & {
  /** How this variant gets its data, for the step and the tool's README ("kretprobe on count_mounts"). */
  description: string;
};
export type BpftraceVariant = ToolVariant & { programFile: string };

/**
 * The target after resolution on the node, in kernel terms. `cgroupIds`: the cgroup v2 ids (directory inodes) of
 * the target's leaf cgroups, e.g. every container of the target pods; at most MAX_CGROUPS (bpftrace-output.ts),
 * empty means "no cgroup filter". `pid`: 0 means "no filter".
 */
export interface KernelScope {
  cgroupIds: number[];
  pid: number;
}

/** Facts the parser may need that are only known on the node. */
export interface ParseContext {
  /** Syscall numbering differs per architecture (process.arch). */
  arch: string;
  /** Maps a cgroup id (inode of the cgroup v2 directory) back to its path below the root, or null. */
  cgroupPathOf(id: number): string | null;
  /** Names a user-space address in a live process (the agent's symbolizer); absent where no process is at hand. */
  userSymbol?: (pid: number, address: bigint) => string | null;
  /**
   * What the agent finds of a live process once the capture has stopped (binary, JIT runtime, perf map); null when
   * it is gone. Ask after naming its addresses: `perfMapFrames` counts what userSymbol named from the perf map.
   */
  userProcess?: (pid: number) => ProcessFacts | null;
  /** The file (path) mapping a user-space address of a live process, or null: where an unnamed frame lies. */
  userModule?: (pid: number, address: bigint) => string | null;
  /**
   * What descriptor `fd` of process `pid` names now (the agent reads /proc/<pid>/fd/<fd> when the capture ends);
   * absent where no live process is at hand, e.g. when parsing a recording.
   */
  fileOf?: (pid: number, fd: number) => FileResolution;
}

/** A file a tool produces beside raw.json and result.json (e.g. stacks.folded). */
export interface ExtraArtifact {
  file: string;
  contentType: string;
  body: string | Buffer;
}

export interface Parsed<R> {
  result: R;
  extraArtifacts: ExtraArtifact[];
  /** A profile's folded stacks: the agent has src/flamegraph/artifacts.ts make its files (flame graph, speedscope, pprof). */
  stacks?: ProfileStacks;
}

interface ToolBase<P extends z.ZodType, R> {
  name: string;
  description: string;
  /** Tool parameters (the duration is separate and common to all tools). */
  params: P;
  /** What every variant needs (bpftrace for a bpftrace tool). */
  requires: Requirement[];
  limits: {
    /** 0 for instant readers (collectors), which ignore the duration. */
    minDurationMs: number;
    maxDurationMs: number;
    defaultDurationMs: number;
    maxOutputBytes: number;
    /** How long the tool may take to print its results after the stop before it is killed (at least CAPTURE_KILL_GRACE). */
    stopGraceMs: number;
  };
  result: z.ZodType<R>;
}

/**
 * A capture tool that is a bpftrace program, plus everything needed to run it safely and read what it prints.
 * User input reaches the program only as validated positional parameters ($1, $2, ...), never as source text.
 */
export interface BpftraceTool<P extends z.ZodType = z.ZodType, R = unknown> extends ToolBase<P, R> {
  kind: 'bpftrace';
  /** Environment for bpftrace (its BPFTRACE_* settings) beside the agent's own. */
  env: Record<string, string>;
  /** Absolute path of the default variant's program (program.bt). */
  programFile: string;
  /**
   * Ways of running it, best first (fentry over kprobe over tracepoint): the agent runs the first one whose
   * requirements the node meets and records which in the step. Every variant takes the same arguments and prints
   * what the same parser reads.
   */
  variants: BpftraceVariant[];
  /** Positional arguments for the program, from validated params and the resolved scope. */
  args(params: z.output<P>, scope: KernelScope): string[];
  /** Parses bpftrace's `-f json` stdout (one JSON document per line) into the tool's result. */
  parse(stdout: string, params: z.output<P>, ctx: ParseContext): Parsed<R>;
}

/** What the agent hands a native tool: the node's facts and the bounds it must keep. */
export interface NativeRunContext extends ParseContext {
  scope: KernelScope;
  durationMs: number;
  /** Aborted when the investigation is cancelled; a native tool must stop at once and restore what it changed. */
  signal: AbortSignal;
  /** Mounted tracefs, or null. */
  tracefs: string | null;
  /** /proc, or a test's stand-in. */
  procRoot: string;
  cgroupRoot: string;
}

export interface NativeRun<R> extends Parsed<R> {
  /** The raw material the result was read from, stored as `rawFile` beside result.json. */
  raw: string;
  rawFile: string;
}

/**
 * A tool the agent runs in its own process: tracefs tracers (funcgraph) and read-only context collectors
 * (procfs/sysfs readings). Same manifest as a bpftrace tool; `run` replaces program, args and parse.
 */
export interface NativeTool<P extends z.ZodType = z.ZodType, R = unknown> extends ToolBase<P, R> {
  kind: 'native';
  /** How it reads the kernel (a native tool has one way: tracefs, procfs). */
  variants: [ToolVariant];
  run(params: z.output<P>, ctx: NativeRunContext): Promise<NativeRun<R>>;
}

export type CaptureTool<P extends z.ZodType = z.ZodType, R = unknown> = BpftraceTool<P, R> | NativeTool<P, R>;
