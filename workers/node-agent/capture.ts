import type { Logger } from 'pino';
import { getTool } from '../../bpf/index.ts';
import type { BpftraceTool, BpftraceVariant, CaptureTool, KernelScope, NativeTool, ParseContext, Parsed, ToolVariant } from '../../bpf/tool.ts';
import { chooseVariant } from '../../src/core/capabilities.ts';
import { formatDurationMs } from '../../src/core/duration.ts';
import { TracehoundError } from '../../src/core/errors.ts';
import type { CaptureCost } from '../../src/core/capture-cost.ts';
import type { ArtifactRef } from '../../src/core/investigation.ts';
import { flamegraphThumbnails, profileArtifacts } from '../../src/flamegraph/artifacts.ts';
import type { CaptureJob, CaptureReply } from '../../src/queue/jobs.ts';
import type { ArtifactStore } from '../../src/storage/artifact-store.ts';
import { contentTypeFor } from '../../src/storage/keys.ts';
import { unmetRequirement, type Capabilities } from './capabilities.ts';
import { defaultBpfStats, type BpfStatsSwitch } from './bpf-stats.ts';
import { BpftraceMeter, nodeCpus, startNativeMeter, type CostContext } from './capture-cost.ts';
import { CaptureFailure, CaptureKilled, CaptureRefused, OutputLimitExceeded, ResultSchemaMismatch } from './capture-errors.ts';
import { cgroupPathIndex } from './cgroups.ts';
import { resolveFd } from './fd-paths.ts';
import { kernelScopeOf } from './kernel-scope.ts';
import type { CgroupNames } from './pod-cgroups.ts';
import { defaultDemangler } from './symbols/demangle.ts';
import { defaultPerfMapCache } from './symbols/perf-map.ts';
import { defaultElfCache, UserSymbolizer } from './symbols/user-symbolizer.ts';
import { BPFTRACE_SENTINEL_ARGS, meaningfulStderr, runTimeBoxed } from './time-box.ts';
import type { ArtifactSpool } from './spool.ts';
import { storeArtifacts } from './store-artifacts.ts';

export interface CaptureDeps {
  store: ArtifactStore;
  capabilities: Capabilities;
  cgroupRoot: string;
  bpftrace: string;
  mapKeysMax: number;
  killGraceMs: number;
  /** How long bpftrace may take to attach (CAPTURE_STARTUP_TIMEOUT). */
  startupMs: number;
  maxDurationMs: number;
  /** Keeps what storage does not take, for the flusher to upload later. */
  spool: ArtifactSpool;
  log: Logger;
  /** Where the job's tool is looked up: the catalogue (bpf/index.ts) unless a test brings tools of its own. */
  tools?: (name: string) => CaptureTool | undefined;
  /** The node's budget for one capture, a share of the node's CPU (CAPTURE_COST_BUDGET): its cost says when it is over. */
  costBudget?: number;
  /** The switch of the kernel's BPF statistics: the agent-wide one unless a test brings its own. */
  bpfStats?: BpfStatsSwitch;
}

/** Where a capture's measured cost is left as soon as it is known: a capture that fails afterwards still reports it. */
interface CostSlot {
  cost?: CaptureCost;
}


/** Runs one capture job on this node; every failure becomes an outcome with a reason, never a thrown error. */
export async function executeCapture(job: CaptureJob, deps: CaptureDeps, signal: AbortSignal): Promise<CaptureReply> {
  const startedAt = new Date().toISOString();
  const base = { stepId: job.stepId, node: job.node, startedAt, artifacts: [] as ArtifactRef[] };
  const slot: CostSlot = {};
  const end = (status: CaptureReply['status'], reason?: string): CaptureReply => ({
    ...base,
    status,
    ...(reason ? { reason } : {}),
    // It ran and then failed (no result, killed while printing): what it cost the node is still true.
    ...(slot.cost ? { cost: slot.cost } : {}),
    finishedAt: new Date().toISOString(),
  });
  try {
    return await capture(job, deps, signal, base, slot);
  } catch (err) {
    if (err instanceof CaptureFailure || err instanceof TracehoundError) return end('failed', err.message);
    deps.log.error({ err, job: job.investigationId, step: job.stepId }, 'capture crashed');
    return end('failed', `agent error: ${(err as Error).message}`);
  }
}

async function capture(
  job: CaptureJob,
  deps: CaptureDeps,
  signal: AbortSignal,
  base: { stepId: string; node: string; startedAt: string; artifacts: ArtifactRef[] },
  slot: CostSlot,
): Promise<CaptureReply> {
  const tool = (deps.tools ?? getTool)(job.tool);
  if (!tool) throw new CaptureRefused(`unknown tool "${job.tool}"`);
  const parsedParams = tool.params.safeParse(job.params);
  if (!parsedParams.success) {
    throw new CaptureRefused(`invalid ${tool.name} parameters: ${parsedParams.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const maxMs = Math.min(tool.limits.maxDurationMs, deps.maxDurationMs);
  if (job.durationMs < tool.limits.minDurationMs || job.durationMs > maxMs) {
    throw new CaptureRefused(
      `duration ${formatDurationMs(job.durationMs)} outside ${formatDurationMs(tool.limits.minDurationMs)}..${formatDurationMs(maxMs)} for ${tool.name}`,
    );
  }
  const unmet = tool.requires.map((r) => unmetRequirement(r, deps.capabilities)).filter((r) => r !== null);
  if (unmet.length > 0) {
    return { ...base, status: 'skipped', reason: `node ${job.node} cannot run ${tool.name}: ${unmet.join('; ')}`, finishedAt: new Date().toISOString() };
  }
  // The best way of running it that this node has (fentry over kprobe over tracepoint): the step records which ran.
  const chosen = chooseVariant<ToolVariant | BpftraceVariant>(tool.variants, (r) => unmetRequirement(r, deps.capabilities));
  if (chosen.variant === null) {
    return { ...base, status: 'skipped', reason: `node ${job.node} cannot run ${tool.name}: ${chosen.reasons.join('; ')}`, finishedAt: new Date().toISOString() };
  }
  const variant = chosen.variant;

  // Exactly the resolved set: the pods' cgroups when there are pods, never a union with anything else.
  const { scope, podNames } = kernelScopeOf(job.scope, job.node, deps.cgroupRoot);
  if (signal.aborted) return { ...base, status: 'cancelled', reason: 'cancelled before the capture started', finishedAt: new Date().toISOString() };

  const ctx = parseContext(deps);
  const costs: CostContext = { cpus: nodeCpus(), ...(deps.costBudget !== undefined ? { budget: deps.costBudget } : {}) };
  const out =
    tool.kind === 'bpftrace'
      ? await runBpftrace(tool, (variant as BpftraceVariant).programFile, parsedParams.data, scope, job.durationMs, deps, ctx, signal, costs, slot)
      : await runNative(tool, parsedParams.data, scope, job.durationMs, deps, ctx, signal, costs, slot, variant.name === 'tracefs');
  const timing = { startedAt: out.startedAt.toISOString(), finishedAt: out.finishedAt.toISOString(), variant: variant.name, ...(slot.cost ? { cost: slot.cost } : {}) };
  if (out.cancelled) return { ...base, ...timing, status: 'cancelled', reason: 'investigation cancelled; capture stopped' };
  const { parsed } = out;
  // The result's schema is its contract with every reader (findings, sweeps, chat): a parse that breaks it fails
  // here, naming where, rather than as a confusing summary later. What is stored is what the parser returned.
  const checked = tool.result.safeParse(parsed.result);
  if (!checked.success) {
    const [first] = checked.error.issues;
    throw new ResultSchemaMismatch(tool.name, first?.path ?? [], first?.message ?? checked.error.message);
  }
  if (podNames) nameCgroups(parsed.result, podNames);
  // Drawn once, after the last parse (a parse may run twice, see runBpftrace): the flame graph and its exports.
  const extra = [...parsed.extraArtifacts, ...(parsed.stacks ? profileArtifacts(parsed.stacks) : [])];
  const files = [
    { file: out.rawFile, contentType: contentTypeFor(out.rawFile), body: out.raw },
    { file: 'result.json', contentType: 'application/json', body: JSON.stringify(parsed.result, null, 2) },
    // What the capture cost the node: the evidence of a finding that it went over the node's budget.
    ...(slot.cost ? [{ file: 'cost.json', contentType: 'application/json', body: JSON.stringify(slot.cost, null, 2) }] : []),
    ...extra,
    ...(job.thumbnails ? flamegraphThumbnails(extra, (err, file) => deps.log.warn({ err, file }, 'could not render a flamegraph thumbnail')) : []),
  ];
  // Storage down is not a failed capture: the result still goes back, what was not stored says so and is spooled.
  const { artifacts, unstored } = await storeArtifacts(job, files, deps);
  return {
    ...base,
    ...timing,
    status: 'succeeded',
    result: parsed.result,
    artifacts,
    unstored,
  };
}

/** Results speak in pods: every object carrying a `cgroupId` of a target pod gets its `pod` and `container`. */
function nameCgroups(value: unknown, names: CgroupNames): void {
  if (Array.isArray(value)) {
    for (const v of value) nameCgroups(v, names);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const o = value as Record<string, unknown>;
  if (typeof o.cgroupId === 'number') {
    const n = names.nameOf(o.cgroupId);
    if (n) {
      o.pod = n.pod;
      o.container = n.container;
    }
  }
  for (const v of Object.values(o)) if (v !== null && typeof v === 'object') nameCgroups(v, names);
}

interface ToolOutput {
  raw: string;
  rawFile: string;
  parsed: Parsed<unknown>;
  cancelled: boolean;
  startedAt: Date;
  finishedAt: Date;
}

function parseContext(deps: CaptureDeps): ParseContext & { flushNames(): Promise<boolean> } {
  // One symbolizer per capture: process maps and perf maps are read once per pid, binaries and perf maps come from
  // the agent-wide caches (a perf map is read again only when it grew).
  const symbolizer = new UserSymbolizer({ cache: defaultElfCache, perfMaps: defaultPerfMapCache });
  return {
    arch: deps.capabilities.arch,
    cgroupPathOf: cgroupPathIndex(deps.cgroupRoot),
    userSymbol: (pid, address) => {
      const name = symbolizer.resolve(pid, address);
      return name === null ? null : defaultDemangler.name(name);
    },
    userProcess: (pid) => symbolizer.facts(pid),
    userModule: (pid, address) => symbolizer.moduleOf(pid, address),
    // Parsing runs once the tool has stopped: this is "capture end", as close to the failures as the agent gets.
    fileOf: (pid, fd) => resolveFd(pid, fd),
    flushNames: () => defaultDemangler.flush(),
  };
}

/** How many of bpftrace's JSON documents (one per line) are maps: its results, printed at the end. */
const mapDocuments = (stdout: string) => stdout.split('\n').filter((l) => /^\{"type": ?"map"/.test(l)).length;

async function runBpftrace(
  tool: BpftraceTool,
  programFile: string,
  params: unknown,
  scope: KernelScope,
  durationMs: number,
  deps: CaptureDeps,
  ctx: ReturnType<typeof parseContext>,
  signal: AbortSignal,
  costs: CostContext,
  slot: CostSlot,
): Promise<ToolOutput> {
  const stopGraceMs = Math.max(deps.killGraceMs, tool.limits.stopGraceMs);
  // The kernel counts BPF run time only while statistics are on: on for this run, put back as soon as it ends,
  // whatever way it ends (the switch counts captures, so one ending does not turn them off under another).
  const lease = (deps.bpfStats ?? defaultBpfStats).acquire();
  const meter = new BpftraceMeter(costs, lease);
  const run = await runTimeBoxed({
    command: deps.bpftrace,
    args: ['-f', 'json', programFile, ...tool.args(params, scope)],
    durationMs,
    killGraceMs: stopGraceMs,
    // If the agent dies nobody reads what bpftrace would print: it gets only CAPTURE_KILL_GRACE to go.
    orphanGraceMs: deps.killGraceMs,
    maxOutputBytes: tool.limits.maxOutputBytes,
    env: { BPFTRACE_MAP_KEYS_MAX: String(deps.mapKeysMax), ...tool.env },
    signal,
    // The window opens when the probes are attached: loading a BTF-heavy program can take a second or more.
    startMarker: '"attached_probes"',
    startupMs: deps.startupMs,
    // bpftrace 0.17 can miss the SIGINT; it always notices this process exit (see time-box.ts).
    sentinelArgs: BPFTRACE_SENTINEL_ARGS,
    // bpftrace's CPU time and its programs' statistics are read while it lives: last just before it exits.
    onSample: meter.sample,
  }).finally(lease.release);
  slot.cost = meter.cost(run);
  const common = { raw: run.stdout, rawFile: 'raw.json', startedAt: run.startedAt, finishedAt: run.finishedAt };
  if (run.outputTruncated) throw new OutputLimitExceeded(`${tool.name} output exceeded ${tool.limits.maxOutputBytes} bytes; capture stopped`);
  if (run.cancelled) return { ...common, cancelled: true, parsed: { result: null, extraArtifacts: [] } };
  // Killed while printing: whatever it printed is incomplete, and a partial count would mislead.
  if (run.killed) {
    // What it had printed, and said, by then: whether it hung before, while or after printing its maps.
    const maps = mapDocuments(run.stdout);
    const stderr = meaningfulStderr(run.stderr);
    throw new CaptureKilled(
      `${tool.name} did not finish printing its results within ${formatDurationMs(stopGraceMs)} of the time box and was killed ` +
        `(${maps} map document${maps === 1 ? '' : 's'} printed${stderr ? `; stderr: ${stderr.slice(0, 300)}` : ''})`,
    );
  }
  if (!run.attachedAt) {
    const stderr = meaningfulStderr(run.stderr);
    throw new CaptureRefused(`${tool.name} did not attach its probes (exit ${run.exitCode ?? run.signal}${stderr ? `): ${stderr.slice(0, 1000)}` : ')'}`);
  }
  if (mapDocuments(run.stdout) === 0) {
    const stderr = meaningfulStderr(run.stderr);
    throw new CaptureRefused(`${tool.name} produced no result (exit ${run.exitCode ?? run.signal}${stderr ? `): ${stderr.slice(0, 1000)}` : ')'}`);
  }
  let parsed = tool.parse(run.stdout, params, ctx);
  // C++ names met for the first time are demangled in one batch; parsing again is cheaper than a second pipeline.
  if (await ctx.flushNames()) parsed = tool.parse(run.stdout, params, ctx);
  return { ...common, cancelled: false, parsed };
}

async function runNative(
  tool: NativeTool,
  params: unknown,
  scope: KernelScope,
  durationMs: number,
  deps: CaptureDeps,
  ctx: ReturnType<typeof parseContext>,
  signal: AbortSignal,
  costs: CostContext,
  slot: CostSlot,
  ftrace: boolean,
): Promise<ToolOutput> {
  const startedAt = new Date();
  const measured = startNativeMeter(costs, ftrace);
  // The native tool keeps its own time box; this backstop only guarantees the job ends.
  const backstop = AbortSignal.timeout(durationMs + Math.max(deps.killGraceMs, tool.limits.stopGraceMs));
  let run;
  try {
    run = await tool.run(params, {
      ...ctx,
      scope,
      durationMs,
      signal: AbortSignal.any([signal, backstop]),
      tracefs: deps.capabilities.tracefs,
      procRoot: '/proc',
      cgroupRoot: deps.cgroupRoot,
    });
    slot.cost = measured();
  } catch (err) {
    slot.cost = measured();
    // A tool that stopped because the investigation was cancelled did its job; anything else is a failure.
    if (signal.aborted) return { raw: '', rawFile: 'raw.json', parsed: { result: null, extraArtifacts: [] }, cancelled: true, startedAt, finishedAt: new Date() };
    // Loud: a native tool may have left shared kernel state (tracefs) behind.
    deps.log.error({ err, tool: tool.name }, 'native tool failed');
    throw new CaptureRefused(`${tool.name}: ${(err as Error).message}`);
  }
  if (Buffer.byteLength(run.raw) > tool.limits.maxOutputBytes) {
    throw new OutputLimitExceeded(`${tool.name} output exceeded ${tool.limits.maxOutputBytes} bytes`);
  }
  return { raw: run.raw, rawFile: run.rawFile, parsed: run, cancelled: signal.aborted, startedAt, finishedAt: new Date() };
}
