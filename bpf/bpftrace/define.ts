/**
 * The one way a bpftrace tool is declared. Every program under bpf/bpftrace/<tool>/ takes the same positional
 * layout — its own leading parameters, the first cgroup id, the pid (unless the program cannot filter on one), the
 * other MAX_CGROUPS - 1 cgroup ids, then its own trailing parameters — is `program.bt` beside its manifest, needs
 * bpftrace, and makes no files but raw.json and result.json unless it says so. A manifest states only what is its own.
 */
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { cgroupArgs, positionalInt } from '../bpftrace-output.ts';
import type { BpftraceTool, BpftraceVariant, KernelScope, ParseContext, Parsed, Requirement, ToolVariant } from '../tool.ts';

export interface BpftraceToolSpec<P extends z.ZodType, R> {
  name: string;
  description: string;
  params: P;
  /** What the node must offer besides bpftrace, which every bpftrace tool needs and gets first. */
  requires?: Requirement[];
  /**
   * Its variants, best first, each a program beside the manifest (`program.<name>.bt`; `program.bt` for the one
   * named by `defaultVariant`). Without this, the tool has one: `program.bt`, as `defaultVariant`.
   */
  variants?: Array<Omit<ToolVariant, 'requires'> & { requires?: Requirement[] }>;
  /** The variant `program.bt` is: 'tracepoint' unless said otherwise ('perf-event' for a profiler). */
  defaultVariant?: ToolVariant['name'];
  /** How the default variant gets its data, when the tool has no `variants` list. */
  defaultDescription?: string;
  limits: BpftraceTool['limits'];
  /** bpftrace settings (BPFTRACE_*) beside the agent's own; none by default. */
  env?: Record<string, string>;
  /** The manifest's `import.meta.url`: its folder holds `program.bt`. */
  manifestUrl: string;
  /**
   * What the program filters on: `cgroup-and-pid` (the default) passes the pid after the first cgroup id; `cgroup`
   * leaves that slot out, for a program whose events do not run in the context of the task that caused them.
   */
  filter?: 'cgroup-and-pid' | 'cgroup';
  /** The program's own parameters before the scope's ($1…). */
  leadingArgs?(params: z.output<P>): string[];
  /** The program's own parameters after the scope's, appended last. */
  trailingArgs?(params: z.output<P>): string[];
  /** Reads bpftrace's `-f json` stdout into the result (and, for a profile, its folded stacks). */
  parse(stdout: string, params: z.output<P>, ctx: ParseContext): Pick<Parsed<R>, 'result'> & Partial<Parsed<R>>;
  result: z.ZodType<R>;
}

/** A BpftraceTool from what is particular to it; see the top of this file for what every one shares. */
export function defineBpftraceTool<P extends z.ZodType, R>(spec: BpftraceToolSpec<P, R>): BpftraceTool<P, R> {
  const withPid = (spec.filter ?? 'cgroup-and-pid') === 'cgroup-and-pid';
  const defaultName = spec.defaultVariant ?? 'tracepoint';
  const program = (name: string) => fileURLToPath(new URL(name === defaultName ? './program.bt' : `./program.${name}.bt`, spec.manifestUrl));
  const variants: BpftraceVariant[] = (spec.variants ?? [{ name: defaultName, description: spec.defaultDescription ?? spec.description }]).map((v) => ({
    name: v.name,
    description: v.description,
    requires: v.requires ?? [],
    programFile: program(v.name),
  }));
  return {
    kind: 'bpftrace',
    name: spec.name,
    description: spec.description,
    params: spec.params,
    requires: [{ kind: 'bpftrace' }, ...(spec.requires ?? [])],
    limits: spec.limits,
    env: spec.env ?? {},
    programFile: program(defaultName),
    variants,
    args(params: z.output<P>, scope: KernelScope): string[] {
      const cgroups = cgroupArgs(scope);
      return [
        ...(spec.leadingArgs?.(params) ?? []),
        cgroups.first,
        ...(withPid ? [positionalInt('pid', scope.pid)] : []),
        ...cgroups.extra,
        ...(spec.trailingArgs?.(params) ?? []),
      ];
    },
    parse(stdout, params, ctx) {
      const parsed = spec.parse(stdout, params, ctx);
      return { ...parsed, extraArtifacts: parsed.extraArtifacts ?? [] };
    },
    result: spec.result,
  };
}
