/** offcputime's result: the only home of its schema and types (the parser builds it, consumers read it). */
import { z } from 'zod';

/** Times are in microseconds (µs) throughout, as the program sums them. */
const Us = z.number().int().nonnegative();

/** One blocking stack of one process: where its threads waited, how long in all, the longest once, how often. */
export const OffCpuStack = z.object({
  pid: z.number().int(),
  comm: z.string(),
  /** Root first, as in the folded file without the comm: user frames, then kernel frames marked "_[k]". */
  frames: z.array(z.string()),
  /** The system call it blocked in ("nanosleep", "read"), from the kernel stack; null when none shows. */
  syscall: z.string().nullable(),
  /** The innermost kernel function below the scheduler ("do_nanosleep", "anon_pipe_read"): what it waited on. */
  blockedIn: z.string().nullable(),
  /** The innermost user frames with a name, leaf first (at most 3): the application's own call that blocked. */
  userFrames: z.array(z.string()),
  totalUs: Us,
  maxUs: Us,
  count: z.number().int().nonnegative(),
  /** Of `count`, blocks still open when the capture ended, counted up to the end: threads that had not woken. */
  open: z.number().int().nonnegative(),
});
export type OffCpuStack = z.infer<typeof OffCpuStack>;

/** A process's blocked time: every block of its threads, however short (minBlockUs filters only the stacks). */
export const OffCpuProcess = z.object({
  pid: z.number().int(),
  comm: z.string(),
  blockedUs: Us,
  blocks: z.number().int().nonnegative(),
});
export type OffCpuProcess = z.infer<typeof OffCpuProcess>;

/** A thread that went to sleep during the capture and had not woken when it ended: a hang, or a long wait. */
export const OffCpuOpenBlock = z.object({
  tid: z.number().int(),
  pid: z.number().int(),
  comm: z.string(),
  /** From its switch off CPU to the end of the capture. */
  blockedUs: Us,
  syscall: z.string().nullable(),
  blockedIn: z.string().nullable(),
  userFrames: z.array(z.string()),
});
export type OffCpuOpenBlock = z.infer<typeof OffCpuOpenBlock>;

export const OffCpuResult = z.object({
  /** The unit of every time in this result and of the counts in offcpu.folded. */
  unit: z.literal('us'),
  minBlockUs: Us,
  /** From the program's BEGIN to its END: the window the times fall in. */
  windowMs: z.number().nonnegative(),
  /** Blocked time of the target's threads in blocks of at least minBlockUs: the folded stacks' total. */
  totalUs: Us,
  /** Every blocked time of the target's threads, short blocks included (the processes' sum). */
  blockedUs: Us,
  blocks: z.number().int().nonnegative(),
  /** Distinct blocking stacks seen (topStacks holds the longest). */
  stacks: z.number().int().nonnegative(),
  /** Blocked time on stacks with a frame that could not be named ([unknown]). */
  unknownUs: Us,
  /** The 20 stacks with the most blocked time, most first. */
  topStacks: z.array(OffCpuStack),
  /** The 10 processes with the most blocked time, most first. */
  processes: z.array(OffCpuProcess),
  /** Threads still blocked at the end (at least minBlockUs), longest first, at most 10. */
  openBlocks: z.array(OffCpuOpenBlock),
  artifacts: z.array(z.string()),
});
export type OffCpuResult = z.infer<typeof OffCpuResult>;
