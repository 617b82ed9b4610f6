import { z } from 'zod';

/** What a node agent found it can do; heartbeated into the node registry and read by the orchestrator. */
export const Capabilities = z.object({
  kernel: z.string(),
  arch: z.string(),
  btf: z.boolean(),
  tracefs: z.string().nullable(),
  tracers: z.array(z.string()),
  perfEvents: z.boolean(),
  kprobes: z.boolean(),
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
 * cannot tell (tracepoints: thousands of them, checked by the agent on the node itself).
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
    case 'kernel':
      if (req.min && compareVersions(caps.kernel, req.min) < 0) return `kernel ${caps.kernel} is older than ${req.min}`;
      if (req.max && compareVersions(caps.kernel, req.max) > 0) return `kernel ${caps.kernel} is newer than ${req.max}`;
      return null;
    case 'tracepoint':
      if (!caps.tracefs) return 'tracefs is not mounted and could not be mounted';
      return undefined;
  }
}
