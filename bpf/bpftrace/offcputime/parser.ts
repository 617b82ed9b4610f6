import { z } from 'zod';
import { OFFCPU_ARTIFACTS, type OffCpuStacks } from '../../../src/flamegraph/artifacts.ts';
import { foldStacks, serializeFolded } from '../../../src/flamegraph/folded.ts';
import { readMaps } from '../../bpftrace-output.ts';
import { parseStackKey, sampleFrames, type SampleKey, type UserSymbolResolver } from '../../stack-keys.ts';
import type { OffCpuOpenBlock, OffCpuProcess, OffCpuResult, OffCpuStack } from './result.ts';

const TOP_STACKS = 20;
const TOP_PROCESSES = 10;
const TOP_OPEN = 10;
const USER_FRAMES = 3;

const Numbers = z.record(z.string(), z.number().nonnegative());
const Texts = z.record(z.string(), z.string());

function mapOf<T extends z.ZodType>(maps: Map<string, unknown>, name: string, schema: T): z.output<T> | Record<string, never> {
  const value = maps.get(name);
  if (value === undefined) return {};
  const checked = schema.safeParse(value);
  if (!checked.success) throw new Error(`offcputime output: ${name} is not what the program prints: ${checked.error.message}`);
  return checked.data;
}

function scalar(maps: Map<string, unknown>, name: string): number | null {
  const value = maps.get(name);
  return typeof value === 'number' ? value : null;
}

/** Where the scheduler was entered from: its own frames say nothing about what the thread waited for. */
const SCHEDULER = /^(?:__schedule|schedule|schedule_\w+|io_schedule\w*|preempt_schedule\w*|__cond_resched|freezable_schedule\w*)$/;
// The system call: its entry wrapper, or the helper it was inlined into (ksys_read, __do_sys_wait4), nearest the root.
const SYSCALL = /^(?:__(?:x64|arm64|ia32|x32|se)_sys_|__do_sys_|ksys_)(\w+)$/;

/** What a reader needs of a stack to name it: the system call, the kernel function it waited in, its own calls. */
function describe(key: SampleKey): { syscall: string | null; blockedIn: string | null; userFrames: string[] } {
  const syscallFrame = [...key.kernel].reverse().map((f) => SYSCALL.exec(f)).find((m) => m !== null);
  return {
    syscall: syscallFrame?.[1] ?? null,
    blockedIn: key.kernel.find((f) => !SCHEDULER.test(f)) ?? null,
    userFrames: key.user.filter((f) => f !== '[unknown]').slice(0, USER_FRAMES),
  };
}

/** "pid,comm" keys of the per-process maps; comm is last and may contain commas. */
function processKey(key: string): { pid: number; comm: string } {
  const m = /^(\d+),([\s\S]*)$/.exec(key);
  if (!m) throw new Error(`unexpected per-process key in offcputime output: ${JSON.stringify(key.slice(0, 80))}`);
  return { pid: Number(m[1]), comm: m[2] ?? '' };
}

interface Block {
  key: SampleKey;
  totalUs: number;
  maxUs: number;
  count: number;
  open: number;
}

/**
 * The off-CPU result and its folded stacks (weighted in µs). It renders nothing: the agent asks
 * src/flamegraph/artifacts.ts for the files (offcpu.folded, offcpu-flamegraph.svg), whose names the result lists.
 */
export function parseOffCpu(stdout: string, minBlockUs: number, resolveUser?: UserSymbolResolver): { result: OffCpuResult; stacks: OffCpuStacks } {
  const maps = readMaps(stdout);
  const us = mapOf(maps, '@us', Numbers);
  const maxUs = mapOf(maps, '@max_us', Numbers);
  const counts = mapOf(maps, '@count', Numbers);
  const begin = scalar(maps, '@begin');
  const end = scalar(maps, '@end');

  // Blocks that ended, by stack: the same key in @us, @max_us and @count.
  const blocks = new Map<string, Block>();
  const add = (key: SampleKey, total: number, max: number, count: number, open: number) => {
    const id = JSON.stringify([key.pid, key.comm, key.kernel, key.user]);
    const b = blocks.get(id) ?? { key, totalUs: 0, maxUs: 0, count: 0, open: 0 };
    b.totalUs += total;
    b.maxUs = Math.max(b.maxUs, max);
    b.count += count;
    b.open += open;
    blocks.set(id, b);
  };
  for (const [raw, total] of Object.entries(us)) add(parseStackKey(raw, { map: '@us', resolveUser }), total, maxUs[raw] ?? 0, counts[raw] ?? 0, 0);

  const byPid = new Map<number, OffCpuProcess>();
  const proc = (pid: number, comm: string) => {
    const p = byPid.get(pid) ?? { pid, comm, blockedUs: 0, blocks: 0 };
    byPid.set(pid, p);
    return p;
  };
  const blockedNs = mapOf(maps, '@blocked_ns', Numbers);
  const blockCounts = mapOf(maps, '@blocks', Numbers);
  // Threads of one process may carry different names: the process is named after the thread that blocked longest.
  const longestThread = new Map<number, number>();
  for (const [raw, ns] of Object.entries(blockedNs)) {
    const { pid, comm } = processKey(raw);
    const p = proc(pid, comm);
    if (ns > (longestThread.get(pid) ?? -1)) {
      p.comm = comm;
      longestThread.set(pid, ns);
    }
    p.blockedUs += Math.floor(ns / 1000);
    p.blocks += blockCounts[raw] ?? 0;
  }

  // Blocks still open at the end: parked by tid with their stacks; counted up to the end of the capture.
  const open: OffCpuOpenBlock[] = [];
  if (end !== null) {
    const start = mapOf(maps, '@start', Numbers);
    const kst = mapOf(maps, '@kst', Texts);
    const ust = mapOf(maps, '@ust', Texts);
    const tgid = mapOf(maps, '@tgid', Numbers);
    const comms = mapOf(maps, '@comm', Texts);
    for (const [tid, since] of Object.entries(start)) {
      const pid = tgid[tid];
      const comm = comms[tid];
      if (pid === undefined || comm === undefined || since > end) continue;
      const blockedUs = Math.floor((end - since) / 1000);
      const p = proc(pid, comm);
      p.blockedUs += blockedUs;
      p.blocks += 1;
      if (blockedUs < minBlockUs) continue;
      // The same text as a key of @us, so the same reader (and the same symbolizer) names its frames.
      const key = parseStackKey(`${kst[tid] ?? ''},${ust[tid] ?? ''},${pid},${comm}`, { map: '@kst/@ust', resolveUser });
      add(key, blockedUs, blockedUs, 1, 1);
      open.push({ tid: Number(tid), pid, comm, blockedUs, ...describe(key) });
    }
  }

  const all = [...blocks.values()];
  const folded = foldStacks(all.map((b) => ({ frames: sampleFrames(b.key), count: b.totalUs })));
  const totalUs = all.reduce((n, b) => n + b.totalUs, 0);
  const windowMs = begin !== null && end !== null && end >= begin ? Math.round((end - begin) / 1000) / 1000 : 0;
  const topStacks: OffCpuStack[] = all
    .sort((a, b) => b.totalUs - a.totalUs || b.maxUs - a.maxUs || a.key.pid - b.key.pid)
    .slice(0, TOP_STACKS)
    .map((b) => ({
      pid: b.key.pid,
      comm: b.key.comm,
      frames: sampleFrames(b.key).slice(1),
      ...describe(b.key),
      totalUs: b.totalUs,
      maxUs: b.maxUs,
      count: b.count,
      open: b.open,
    }));
  const processes = [...byPid.values()].sort((a, b) => b.blockedUs - a.blockedUs || a.pid - b.pid);
  return {
    result: {
      unit: 'us',
      minBlockUs,
      windowMs,
      totalUs,
      blockedUs: processes.reduce((n, p) => n + p.blockedUs, 0),
      blocks: processes.reduce((n, p) => n + p.blocks, 0),
      stacks: all.length,
      unknownUs: folded.reduce((n, s) => n + (s.frames.includes('[unknown]') ? s.count : 0), 0),
      topStacks,
      processes: processes.slice(0, TOP_PROCESSES),
      openBlocks: open.sort((a, b) => b.blockedUs - a.blockedUs || a.tid - b.tid).slice(0, TOP_OPEN),
      artifacts: [...OFFCPU_ARTIFACTS],
    },
    stacks: { kind: 'off-cpu', folded: serializeFolded(folded), totalUs, minBlockUs, windowMs },
  };
}
