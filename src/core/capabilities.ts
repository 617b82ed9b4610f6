import { z } from 'zod';

/** What a node agent found it can do; heartbeated into the node registry and read by the orchestrator. */
export const Capabilities = z.object({
  kernel: z.string(),
  arch: z.string(),
  btf: z.boolean(),
  tracefs: z.string().nullable(),
  tracers: z.array(z.string()),
  perfEvents: z.boolean(),
  /** kprobe and kretprobe: the kernel has kprobe_events (CONFIG_KPROBE_EVENTS). */
  kprobes: z.boolean(),
  /** fentry/fexit (bpftrace's kfunc/kretfunc): BPF trampolines with BTF; agents older than this field said nothing. */
  fentry: z.boolean().default(false),
  /** uprobes on user-space functions (uprobe_events). */
  uprobes: z.boolean().default(false),
  bpftrace: z.object({ available: z.boolean(), version: z.string().nullable(), reason: z.string().nullable() }),
  cgroupV2: z.string().nullable(),
});
export type Capabilities = z.infer<typeof Capabilities>;

/** "5.8", "6.1.12": a release as uname gives it, without the distribution's suffix. */
const KernelVersion = z.string().regex(/^\d+(\.\d+){0,2}$/);

/** What a tool or a playbook step needs from a node. */
export const Requirement = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('bpftrace') }).strict(),
  z.object({ kind: z.literal('btf') }).strict(),
  z.object({ kind: z.literal('perf-events') }).strict(),
  /** "raw_syscalls/sys_exit", as under tracefs events/. */
  z.object({ kind: z.literal('tracepoint'), name: z.string().regex(/^[a-z0-9_]+\/[a-z0-9_]+$/) }).strict(),
  /** kprobe/kretprobe, on `function` when given (checked on the node against available_filter_functions). */
  z.object({ kind: z.literal('kprobe'), function: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]{0,127}$/).optional() }).strict(),
  /** fentry/fexit (bpftrace kfunc), on `function` when given. */
  z.object({ kind: z.literal('fentry'), function: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]{0,127}$/).optional() }).strict(),
  z.object({ kind: z.literal('uprobe') }).strict(),
  /** A tracefs tracer such as "function_graph". */
  z.object({ kind: z.literal('tracer'), name: z.string().regex(/^[a-z_]+$/) }).strict(),
  /** Kernel version range, inclusive: { min: "5.8" }, { max: "6.1" }. */
  z
    .object({ kind: z.literal('kernel'), min: KernelVersion.optional(), max: KernelVersion.optional() })
    .strict(),
]);
export type Requirement = z.infer<typeof Requirement>;

const version = (v: string) => (v.match(/^\d+(\.\d+){0,2}/)?.[0] ?? '0').split('.').map(Number);
function compareVersions(a: string, b: string): number {
  const [x, y] = [version(a), version(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/**
 * Why a node with these capabilities cannot satisfy a requirement; null when it can; undefined when the record
 * cannot tell (tracepoints and kernel functions: thousands of them, checked by the agent on the node itself).
 */
export function unmetByCapabilities(req: Requirement, caps: Capabilities): string | null | undefined {
  switch (req.kind) {
    case 'bpftrace':
      return caps.bpftrace.available ? null : `bpftrace unavailable: ${caps.bpftrace.reason}`;
    case 'btf':
      return caps.btf ? null : 'kernel has no BTF (/sys/kernel/btf/vmlinux missing)';
    case 'perf-events':
      return caps.perfEvents ? null : 'perf events unavailable (no /proc/sys/kernel/perf_event_paranoid)';
    case 'tracer':
      if (!caps.tracefs) return 'tracefs is not mounted and could not be mounted';
      return caps.tracers.includes(req.name)
        ? null
        : `tracer ${req.name} not available on kernel ${caps.kernel} (available_tracers: ${caps.tracers.join(' ') || 'none'})`;
    case 'kprobe':
      if (!caps.kprobes) return `kernel ${caps.kernel} has no kprobes (no kprobe_events in tracefs)`;
      return req.function === undefined ? null : undefined;
    case 'fentry':
      if (!caps.fentry) return `kernel ${caps.kernel} has no fentry (BPF trampolines with BTF; bpftrace kfunc)`;
      return req.function === undefined ? null : undefined;
    case 'uprobe':
      return caps.uprobes ? null : `kernel ${caps.kernel} has no uprobes (no uprobe_events in tracefs)`;
    case 'kernel':
      if (req.min && compareVersions(caps.kernel, req.min) < 0) return `kernel ${caps.kernel} is older than ${req.min}`;
      if (req.max && compareVersions(caps.kernel, req.max) > 0) return `kernel ${caps.kernel} is newer than ${req.max}`;
      return null;
    case 'tracepoint':
      if (!caps.tracefs) return 'tracefs is not mounted and could not be mounted';
      return undefined;
  }
}

/** How a tool gets its data on a node: the kind of probe its program uses (a tool may have one of each). */
export const VariantName = z.enum(['fentry', 'kprobe', 'tracepoint', 'perf-event', 'uprobe', 'tracefs', 'procfs']);
export type VariantName = z.infer<typeof VariantName>;

/** One way of running a tool, and what a node must offer for it. */
export interface ToolVariantSpec {
  name: VariantName;
  requires: readonly Requirement[];
}

/**
 * The best variant a node can run (the tool lists them best first), or why none: each variant's unmet requirement.
 * `unmet` answers for one requirement on this node (null: met).
 */
export function chooseVariant<V extends ToolVariantSpec>(
  variants: readonly V[],
  unmet: (r: Requirement) => string | null,
): { variant: V } | { variant: null; reasons: string[] } {
  const reasons: string[] = [];
  for (const v of variants) {
    const why = v.requires.map(unmet).filter((r) => r !== null);
    if (why.length === 0) return { variant: v };
    reasons.push(variants.length > 1 ? `${v.name} variant: ${why.join('; ')}` : why.join('; '));
  }
  return { variant: null, reasons };
}
