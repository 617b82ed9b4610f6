/**
 * What fsslower and ext4slower share: both print the same maps (one program per variant, see their program*.bt),
 * so their results have one shape and one reader. A lower file of its own because two tool packages need it.
 */
import { z } from 'zod';
import { readCountMap } from './bpftrace-output.ts';
import type { ParseContext } from './tool.ts';

/** In the programs' op-code order (1 read, 2 write, 3 open, 4 fsync; 0 is unused): the reader indexes it. */
export const FileOp = z.enum(['none', 'read', 'write', 'open', 'fsync']);
export type FileOp = z.infer<typeof FileOp>;
const OPS = FileOp.options;

export const SlowFileOp = z.object({
  latencyUs: z.number().int().nonnegative(),
  op: FileOp,
  /** Thread that made the call, and its process (thread group) id and comm. */
  tid: z.number().int(),
  pid: z.number().int(),
  comm: z.string(),
  /**
   * The file's name: its dentry name (last path component) in the VFS and ext4 variants; the path as passed to
   * openat(2) for an open in the tracepoint variant; null where the variant has none (tracepoint read/write/fsync).
   */
  file: z.string().nullable(),
  /** The descriptor (tracepoint variant; an open's is the one it returned); null in the VFS and ext4 variants. */
  fd: z.number().int().nullable(),
  /** What `fd` named when the capture ended (/proc/<pid>/fd), when the agent could ask; else null. */
  fdPath: z.string().nullable(),
  /** A read's or write's return: bytes transferred; null for open and fsync, and for a failed call. */
  bytes: z.number().int().nullable(),
  /** The call's negative errno when it failed (-4 EINTR, -5 EIO, …), else null. */
  error: z.number().int().nullable(),
});
export type SlowFileOp = z.infer<typeof SlowFileOp>;

export const SlowFileOpGroup = z.object({
  op: FileOp,
  pid: z.number().int(),
  comm: z.string(),
  /** Slow calls of this process and op. */
  count: z.number().int().nonnegative(),
  maxUs: z.number().int().nonnegative(),
});
export type SlowFileOpGroup = z.infer<typeof SlowFileOpGroup>;

export const SlowFileOpsResult = z.object({
  unit: z.literal('us'),
  /** The threshold the capture ran with: calls at least this slow are counted and listed. */
  thresholdMs: z.number().int().nonnegative(),
  /** The slowest calls, slowest first (at most maxOps). */
  ops: z.array(SlowFileOp),
  /** All calls at least thresholdMs slow (`ops` lists the slowest the program kept). */
  slowOps: z.number().int().nonnegative(),
  /** Slow calls per process and op, worst maxUs first. */
  byProcess: z.array(SlowFileOpGroup),
  /** Every call timed (slow or not) per op: the denominator of `slowOps`. */
  timedOps: z.object({ read: z.number().int(), write: z.number().int(), open: z.number().int(), fsync: z.number().int() }),
});
export type SlowFileOpsResult = z.infer<typeof SlowFileOpsResult>;

export const SLOW_MAPS = { slow: '@slow', slowOps: '@slow_ops', slowMaxUs: '@slow_max_us', ops: '@ops' } as const;

/** @slow: "tid,nsecs" → [us, op, ret, fd, pid, comm, name]; tuples, as name and comm may hold commas. */
const SlowTuple = z.tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int(), z.number().int(), z.string(), z.string()]);
const SlowMap = z.record(z.string(), SlowTuple);
const GROUP_KEY = /^(\d+),(\d+),(.*)$/s;
const SLOW_KEY = /^(\d+),(\d+)$/;

function opOf(where: string, code: number): FileOp {
  const op = OPS[code];
  if (op === undefined || code === 0) throw new Error(`${where}: op ${code} is not 1-${OPS.length - 1}`);
  return op;
}

function readSlowMap(stdout: string): Record<string, z.infer<typeof SlowTuple>> {
  let found: Record<string, z.infer<typeof SlowTuple>> = {};
  stdout.split('\n').forEach((line, i) => {
    if (!line.includes(`"${SLOW_MAPS.slow}"`)) return;
    const doc = JSON.parse(line) as { type?: string; data?: Record<string, unknown> };
    if (doc.type !== 'map' || !doc.data || !Object.hasOwn(doc.data, SLOW_MAPS.slow)) return;
    const parsed = SlowMap.safeParse(doc.data[SLOW_MAPS.slow]);
    if (!parsed.success) throw new Error(`bpftrace output line ${i + 1}: ${SLOW_MAPS.slow} is not a map of [us, op, ret, fd, pid, comm, name]: ${parsed.error.message}`);
    found = parsed.data;
  });
  return found;
}

export function readSlowFileOps(stdout: string, limits: { thresholdMs: number; maxOps: number }, ctx: ParseContext): SlowFileOpsResult {
  // Every line must be JSON (a truncated capture fails here, naming the line), whichever maps it holds.
  const timed = readCountMap(stdout, SLOW_MAPS.ops);
  const timedOf = (op: number) => timed[String(op)] ?? 0;

  const ops = Object.entries(readSlowMap(stdout)).map(([key, [us, code, ret, fd, pid, comm, name]]): SlowFileOp => {
    const k = SLOW_KEY.exec(key);
    if (k === null) throw new Error(`unexpected ${SLOW_MAPS.slow} key ${JSON.stringify(key)}: expected "tid,nsecs"`);
    const op = opOf(`${SLOW_MAPS.slow}[${key}]`, code);
    const resolved = fd >= 0 && ctx.fileOf ? ctx.fileOf(pid, fd) : null;
    return {
      latencyUs: us,
      op,
      tid: Number(k[1]),
      pid,
      comm,
      file: name === '' ? null : name,
      fd: fd >= 0 ? fd : null,
      fdPath: resolved?.state === 'open' ? resolved.path : null,
      bytes: (op === 'read' || op === 'write') && ret >= 0 ? ret : null,
      error: ret < 0 ? ret : null,
    };
  });
  ops.sort((a, b) => b.latencyUs - a.latencyUs || a.pid - b.pid || a.tid - b.tid);

  const maxUs = readCountMap(stdout, SLOW_MAPS.slowMaxUs);
  const byProcess = Object.entries(readCountMap(stdout, SLOW_MAPS.slowOps)).map(([key, count]): SlowFileOpGroup => {
    const m = GROUP_KEY.exec(key);
    if (m === null) throw new Error(`unexpected ${SLOW_MAPS.slowOps} key ${JSON.stringify(key)}: expected "op,pid,comm"`);
    return { op: opOf(`${SLOW_MAPS.slowOps}[${key}]`, Number(m[1])), pid: Number(m[2]), comm: m[3] ?? '', count, maxUs: maxUs[key] ?? 0 };
  });
  byProcess.sort((a, b) => b.maxUs - a.maxUs || b.count - a.count || a.pid - b.pid || OPS.indexOf(a.op) - OPS.indexOf(b.op));

  return {
    unit: 'us',
    thresholdMs: limits.thresholdMs,
    ops: ops.slice(0, limits.maxOps),
    slowOps: byProcess.reduce((s, g) => s + g.count, 0),
    byProcess,
    timedOps: { read: timedOf(1), write: timedOf(2), open: timedOf(3), fsync: timedOf(4) },
  };
}
