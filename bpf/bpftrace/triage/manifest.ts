import { z } from 'zod';
import { positionalInt } from '../../bpftrace-output.ts';
import { biolatency } from '../biolatency/manifest.ts';
import { defineBpftraceTool } from '../define.ts';
import { execsnoop } from '../execsnoop/manifest.ts';
import { oomkill } from '../oomkill/manifest.ts';
import { profile } from '../profile/manifest.ts';
import { runqlat } from '../runqlat/manifest.ts';
import { descriptorSyscallArgs, syscount } from '../syscount/manifest.ts';
import { tcpconnect } from '../tcpconnect/manifest.ts';
import { tcpretrans } from '../tcpretrans/manifest.ts';
import type { BpftraceTool } from '../../tool.ts';
import { parseTriage } from './parser.ts';
import { TRIAGE_PARTS, type TriagePart } from './parts.ts';
import { TriageResult } from './result.ts';

export const TriageParams = z
  .object({
    /** The profile's samples per second per CPU (profile's own default). */
    hz: z.number().int().min(1).max(999).default(99),
  })
  .strict();
export type TriageParams = z.output<typeof TriageParams>;

/** Each part's manifest by name (the type makes it name every part); the order is parts.ts's. */
const TOOL_OF: Record<TriagePart, BpftraceTool> = { syscount, runqlat, biolatency, tcpretrans, tcpconnect, oomkill, execsnoop, profile };
const PARTS = TRIAGE_PARTS.map((p) => TOOL_OF[p.tool]);
const key = (r: { kind: string; name?: string }) => `${r.kind}:${r.name ?? ''}`;

export const triage = defineBpftraceTool({
  name: 'triage',
  description:
    "The triage checklist's kernel signals in one bpftrace program (one start, one attach): failing syscalls, run-queue latency, block I/O latency, TCP retransmits and connects, OOM kills, executions and on-CPU stacks, each parsed by its own tool's parser.",
  params: TriageParams,
  // What every part needs, once each (bpftrace itself is added by defineBpftraceTool).
  requires: [...new Map(PARTS.flatMap((t) => t.requires).filter((r) => r.kind !== 'bpftrace').map((r) => [key(r), r])).values()],
  limits: {
    minDurationMs: 1_000,
    maxDurationMs: 60_000,
    defaultDurationMs: 5_000,
    maxOutputBytes: PARTS.reduce((n, t) => n + t.limits.maxOutputBytes, 0),
    stopGraceMs: Math.max(...PARTS.map((t) => t.limits.stopGraceMs)),
  },
  env: { ...execsnoop.env, ...profile.env },
  manifestUrl: import.meta.url,
  leadingArgs: (params) => [positionalInt('hz', params.hz)],
  // syscount's syscall numbers, then syscount's errno (any) and oomkill's end-after (never): program.bt's layout.
  trailingArgs: () => [...descriptorSyscallArgs(process.arch), '0', '0'],
  parse: (stdout, params, ctx) => parseTriage(stdout, params.hz, ctx),
  result: TriageResult,
});
