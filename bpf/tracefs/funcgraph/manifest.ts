import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { CapabilityError, UnsupportedTargetError } from '../../../src/core/errors.ts';
import type { NativeRunContext, NativeTool } from '../../tool.ts';
import { runTracefsCapture, type TracefsSetting } from './tracefs-run.ts';
import { parseFuncgraph } from './parser.ts';
import { FuncgraphResult } from './result.ts';
import { DEFAULT_LOCK_PATH, readTracefsFile } from './tracefs.ts';

export { FuncgraphCall, FuncgraphErrorRow, FuncgraphResult } from './result.ts';

/** A kernel symbol as available_filter_functions lists it (GCC clones carry suffixes such as ".isra.0"). */
export const FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_.]{0,127}$/;

export const FuncgraphParams = z
  .object({
    /** Kernel function whose calls are graphed (written to set_graph_function). */
    function: z.string().regex(FUNCTION_NAME, 'expected a kernel function name such as "path_mount"'),
    /** Levels of calls to show, the function itself being level 1 (max_graph_depth). */
    depth: z.number().int().min(1).max(10).default(3),
    /**
     * Only these functions are shown below `function` (set_ftrace_filter): a chain deep in the call tree
     * (path_mount → graft_tree → attach_recursive_mnt → count_mounts) is reached at a large depth without graphing
     * everything around it. Names this kernel cannot trace (inlined there) are left out and listed in the result.
     */
    functions: z.array(z.string().regex(FUNCTION_NAME, 'expected kernel function names')).min(1).max(32).optional(),
  })
  .strict();
export type FuncgraphParams = z.output<typeof FuncgraphParams>;

const TRACER = 'function_graph';

/**
 * Output options, written through options/<name> and only where the kernel has them. They pin the text layout the
 * parser reads, whatever an earlier user left behind; each one is saved and put back afterwards.
 */
const OUTPUT_OPTIONS: ReadonlyArray<readonly [string, '0' | '1']> = [
  ['context-info', '1'], // without it the CPU column disappears
  ['latency-format', '0'],
  ['funcgraph-cpu', '1'],
  ['funcgraph-proc', '1'], // comm-pid on every line: one call stack per task, and who made each call
  ['funcgraph-duration', '1'],
  ['funcgraph-overhead', '1'],
  ['funcgraph-tail', '1'], // names every return, so calls whose entry was missed still get a name
  ['funcgraph-abstime', '0'],
  ['funcgraph-irqs', '0'], // interrupts that happen to hit the function are not part of its graph
  ['funcgraph-overrun', '0'],
  ['funcgraph-retval', '1'], // ≥ 6.5
  ['funcgraph-retval-hex', '0'], // errors as signed decimals
  ['funcgraph-args', '0'], // ≥ 6.15
  ['funcgraph-retaddr', '0'], // ≥ 6.13
];

async function availableTracers(tracefs: string): Promise<string[]> {
  return (await readTracefsFile(tracefs, 'available_tracers')).trim().split(/\s+/).filter(Boolean);
}

/** Names the kernel can trace; a function that was inlined everywhere or is notrace is not among them. */
async function traceableFunctions(tracefs: string): Promise<Set<string>> {
  const list = await readTracefsFile(tracefs, 'available_filter_functions');
  // Lines are "name" or "name [module]".
  return new Set(list.split('\n').map((line) => line.split(' ')[0]!).filter(Boolean));
}

function assertTraceable(traceable: Set<string>, fn: string): void {
  if (!traceable.has(fn)) {
    throw new UnsupportedTargetError(
      `kernel function ${fn} cannot be traced on kernel ${release()}: it is not in available_filter_functions (misspelled, inlined, or marked notrace)`,
    );
  }
}

async function threadsOf(procRoot: string, pid: number): Promise<number[]> {
  try {
    return (await readdir(join(procRoot, String(pid), 'task'))).map(Number).filter(Number.isInteger);
  } catch {
    throw new UnsupportedTargetError(`pid ${pid} is not running`);
  }
}

/** The threads of the scope's cgroups together; a cgroup gone since (an exited container) holds none. */
async function cgroupThreads(ctx: NativeRunContext): Promise<number[]> {
  const ids = [...new Set(ctx.scope.cgroupIds)];
  const threads: number[] = [];
  let found = 0;
  for (const id of ids) {
    const path = ctx.cgroupPathOf(id);
    if (path === null) continue;
    let text: string;
    try {
      text = await readFile(join(ctx.cgroupRoot, path, 'cgroup.threads'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') continue; // removed since the path was looked up
      throw new UnsupportedTargetError(`cannot read the tasks of cgroup ${path}`);
    }
    found++;
    threads.push(...text.split('\n').filter(Boolean).map(Number).filter(Number.isInteger));
  }
  if (found === 0) {
    throw new UnsupportedTargetError(
      ids.length === 1 ? `cgroup id ${ids.join('')} no longer exists` : `none of cgroup ids ${ids.join(', ')} exists any longer`,
    );
  }
  return threads;
}

/**
 * ftrace cannot filter by cgroup, only by task (set_ftrace_pid, which takes thread ids). The scope becomes the
 * threads its cgroups hold when the capture starts (all of them together); function-fork then adds the threads
 * they create. Null: no filter.
 */
export async function scopeThreads(ctx: NativeRunContext): Promise<number[] | null> {
  const { pid, cgroupIds } = ctx.scope;
  if (pid === 0 && cgroupIds.length === 0) return null;
  let threads = pid !== 0 ? await threadsOf(ctx.procRoot, pid) : await cgroupThreads(ctx);
  if (pid !== 0 && cgroupIds.length !== 0) {
    const inCgroups = new Set(await cgroupThreads(ctx));
    threads = threads.filter((t) => inCgroups.has(t));
  }
  // An empty set_ftrace_pid means "every task": never let an empty scope turn into a node-wide capture.
  if (threads.length === 0) throw new UnsupportedTargetError('the target has no running threads to trace');
  return [...new Set(threads)].sort((a, b) => a - b);
}

function outputOptions(tracefs: string): TracefsSetting[] {
  return OUTPUT_OPTIONS.filter(([name]) => existsSync(join(tracefs, 'options', name))).map(([name, value]) => ({ file: `options/${name}`, value }));
}

/** With a pid filter, the threads the target creates during the capture are traced too (Linux ≥ 4.19). */
function forkOption(tracefs: string, filtered: boolean): TracefsSetting[] {
  return filtered && existsSync(join(tracefs, 'options', 'function-fork')) ? [{ file: 'options/function-fork', value: '1' }] : [];
}

/**
 * Why a capture saw no call of the function, as far as the capture itself can tell: what it dropped, what it
 * filtered on, how long it looked. Read by a step that expected calls (the playbook's `expect`) and by people.
 */
export function whyEmpty(r: FuncgraphResult, threads: number[] | null, durationMs: number): string {
  const reasons: string[] = [];
  if (r.lostEvents > 0) reasons.push(`the kernel dropped ${r.lostEvents} events (the reader fell behind)`);
  if (r.truncated) reasons.push('the output reached its size limit and the capture stopped early');
  if (threads !== null) {
    reasons.push(
      `only the ${threads.length} thread${threads.length === 1 ? '' : 's'} the target had when the capture started, and what they forked, were traced (set_ftrace_pid): a process started otherwise is not seen`,
    );
  }
  reasons.push(`no ${r.function} call ${threads === null ? 'was made' : 'was made by them'} in the ${durationMs / 1000} s window`);
  return reasons.join('; or ');
}

export const funcgraph: NativeTool<typeof FuncgraphParams, FuncgraphResult> = {
  kind: 'native',
  name: 'funcgraph',
  description: "Graphs the calls a kernel function makes, with durations and return values (tracefs function_graph, as perf-tools' funcgraph).",
  params: FuncgraphParams,
  requires: [],
  variants: [{ name: 'tracefs', requires: [{ kind: 'tracer', name: TRACER }], description: 'the function_graph tracer through tracefs' }],
  // function_graph hooks every kernel function while it runs (perf-tools expects the kernel to be ~50% slower), so
  // captures stay short. Output is streamed from trace_pipe; a busy function fills 32 MiB in seconds.
  limits: {
    minDurationMs: 1_000,
    maxDurationMs: 30_000,
    defaultDurationMs: 5_000,
    maxOutputBytes: 32 * 1024 * 1024,
    stopGraceMs: 2_000,
  },
  result: FuncgraphResult,
  async run(params, ctx) {
    const tracefs = ctx.tracefs;
    if (tracefs === null) throw new CapabilityError('tracefs is not mounted');
    const tracers = await availableTracers(tracefs);
    if (!tracers.includes(TRACER)) {
      throw new CapabilityError(
        `tracer ${TRACER} not available on kernel ${release()} (available_tracers: ${tracers.join(' ') || 'none'})`,
      );
    }
    // The schema checked it already; this is what stands between the name and a tracefs write.
    if (!FUNCTION_NAME.test(params.function)) throw new UnsupportedTargetError(`invalid kernel function name ${JSON.stringify(params.function)}`);
    if (!existsSync(join(tracefs, 'max_graph_depth'))) throw new CapabilityError(`kernel ${release()} has no max_graph_depth (needs Linux ≥ 4.4)`);
    const traceable = await traceableFunctions(tracefs);
    assertTraceable(traceable, params.function);
    const threads = await scopeThreads(ctx);
    const wanted = params.functions ? [params.function, ...params.functions.filter((f) => f !== params.function)] : null;
    for (const f of wanted ?? []) if (!FUNCTION_NAME.test(f)) throw new UnsupportedTargetError(`invalid kernel function name ${JSON.stringify(f)}`);
    const shown = wanted?.filter((f) => traceable.has(f)) ?? null;
    const notTraceable = wanted?.filter((f) => !traceable.has(f)) ?? [];

    const before: TracefsSetting[] = [
      // Only the functions asked for; otherwise none (a filter left behind would silently prune the graph).
      { file: 'set_ftrace_filter', value: shown ? shown.join(' ') : '' },
      { file: 'set_graph_function', value: params.function },
      { file: 'max_graph_depth', value: String(params.depth) },
      // function-fork before the pids: a thread the target forks once its pid is in the filter is followed.
      ...forkOption(tracefs, threads !== null),
      { file: 'set_ftrace_pid', value: threads === null ? '' : threads.join(' ') },
    ];
    // With a threshold, function_graph prints only returns slower than it: a different output altogether.
    if (existsSync(join(tracefs, 'tracing_thresh'))) before.push({ file: 'tracing_thresh', value: '0' });

    const out = await runTracefsCapture({
      tracefs,
      before,
      tracer: TRACER,
      after: outputOptions(tracefs),
      durationMs: ctx.durationMs,
      maxBytes: funcgraph.limits.maxOutputBytes,
      signal: ctx.signal,
      lockPath: DEFAULT_LOCK_PATH,
      procRoot: ctx.procRoot,
    });
    const result = parseFuncgraph(out.text, {
      function: params.function,
      depth: params.depth,
      graphFunction: true,
      truncated: out.truncated,
    });
    const withScope: FuncgraphResult = {
      ...result,
      ...(shown ? { shown, notTraceable } : {}),
      ...(threads !== null ? { scopeThreads: threads.length } : {}),
    };
    if (result.totalCalls === 0) withScope.emptyBecause = whyEmpty(withScope, threads, ctx.durationMs);
    return { raw: out.text, rawFile: 'trace.txt', result: withScope, extraArtifacts: [] };
  },
};
