import { z } from 'zod';

/** One call of a kernel function as function_graph printed it, with the calls it made below it. */
export interface FuncgraphCall {
  /** As the kernel prints it (%ps): "vfs_read", "lock_hrtimer_base.isra.24", "vmx_handle_exit [kvm_intel]". */
  name: string;
  /** Inclusive wall time; null when the return was not seen (capture ended first, or events were lost). */
  durationUs: number | null;
  /**
   * Return value (funcgraph-retval, kernels ≥ 6.5): a number, or the kernel's hex text when it does not fit a
   * double exactly (pointers). Meaningless for void functions: the kernel prints whatever the register held.
   */
  ret?: number | string;
  /** Name of `ret` when it is a negative errno (-4095..-1). */
  errno?: string;
  /** Only on top-level calls: who made the call. */
  pid?: number;
  comm?: string;
  cpu?: number;
  /** Calls below this one that were left out to keep the result small (they are in the raw trace). */
  omittedDescendants?: number;
  children: FuncgraphCall[];
}

export const FuncgraphCall: z.ZodType<FuncgraphCall> = z.lazy(() =>
  z.object({
    name: z.string(),
    durationUs: z.number().nullable(),
    ret: z.union([z.number(), z.string()]).optional(),
    errno: z.string().optional(),
    pid: z.number().int().optional(),
    comm: z.string().optional(),
    cpu: z.number().int().optional(),
    omittedDescendants: z.number().int().optional(),
    children: z.array(FuncgraphCall),
  }),
);

export const FuncgraphErrorRow = z.object({
  function: z.string(),
  errno: z.string(),
  count: z.number().int(),
});
export type FuncgraphErrorRow = z.infer<typeof FuncgraphErrorRow>;

export const FuncgraphResult = z.object({
  function: z.string(),
  depth: z.number().int(),
  /** Top-level calls in the order they started (a selection when there were many, see omittedCalls). */
  calls: z.array(FuncgraphCall),
  /** Top-level calls seen, including ones already running when the capture started or still running at its end. */
  totalCalls: z.number().int(),
  /** Longest top-level call whose return was seen; null when none returned. */
  maxDurationUs: z.number().nullable(),
  omittedCalls: z.number().int(),
  /** Negative errno returns anywhere in the graph, by function: most frequent first. */
  errors: z.array(FuncgraphErrorRow),
  /** Events the kernel dropped because the reader fell behind ("CPU:n [LOST m EVENTS]"). */
  lostEvents: z.number().int(),
  /** The raw output reached the tool's output cap and the capture stopped early. */
  truncated: z.boolean(),
  /** Lines that were neither graph lines nor known markers (a non-zero value means a format this parser misses). */
  unparsedLines: z.number().int(),
  /** With `functions`: what set_ftrace_filter held, so only these appear in the graph (the function first). */
  shown: z.array(z.string()).optional(),
  /** Of `functions`, those this kernel cannot trace (inlined into their callers, or notrace): left out of the graph. */
  notTraceable: z.array(z.string()).optional(),
  /** How many threads set_ftrace_pid held when the capture started; absent when every task was traced. */
  scopeThreads: z.number().int().optional(),
  /** When no call was seen: the reasons that can be, for this capture (a filter, lost events, the window). */
  emptyBecause: z.string().optional(),
});
export type FuncgraphResult = z.infer<typeof FuncgraphResult>;
