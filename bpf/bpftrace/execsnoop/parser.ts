import { z } from 'zod';
import { errnoName } from '../../../src/core/errno.ts';
import { readCountMap } from '../../bpftrace-output.ts';
import type { ParseContext } from '../../tool.ts';
import type { ExecFilename, ExecParent, ExecsnoopResult } from './result.ts';

/** The maps the program fills; bpftrace prints them at SIGINT. */
export const EXECS_MAP = '@execs';
export const FAILURES_MAP = '@failures';
export const PARENTS_MAP = '@parents';
export const DURATION_MAP = '@duration_ms';

/** Key layouts; the string (filename or comm) is last and may contain commas, so it takes the rest. */
const EXEC_KEY = /^(\d+),(\d+),([\s\S]*)$/;
const FAILURE_KEY = /^(\d+),(\d+),(\d+),([\s\S]*)$/;
const PARENT_KEY = /^(\d+),([\s\S]*)$/;

function match(re: RegExp, key: string, map: string, layout: string): string[] {
  const m = re.exec(key);
  if (m === null) throw new Error(`unexpected ${map} key ${JSON.stringify(key)}: expected "${layout}"`);
  return m.slice(1);
}

const ScalarDoc = z.object({ type: z.literal('map'), data: z.record(z.string(), z.unknown()) });

/** The last printing of scalar map `name` (`@name = value;`), or null when the program never printed it. */
export function readScalar(stdout: string, name: string): number | null {
  let found: number | null = null;
  for (const line of stdout.split('\n')) {
    // readCountMap has already refused lines that are not JSON.
    if (!line.includes(`"${name}"`)) continue;
    const doc = ScalarDoc.safeParse(JSON.parse(line));
    if (!doc.success || !Object.hasOwn(doc.data.data, name)) continue;
    const value = z.number().int().nonnegative().safeParse(doc.data.data[name]);
    if (!value.success) throw new Error(`${name} is not a non-negative integer: ${JSON.stringify(doc.data.data[name])}`);
    found = value.data;
  }
  return found;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function add<K>(m: Map<K, number>, k: K, n: number): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

export function parseExecsnoop(stdout: string, top: number, ctx: ParseContext): ExecsnoopResult {
  const execs = readCountMap(stdout, EXECS_MAP);
  const failures = readCountMap(stdout, FAILURES_MAP);
  const parentComms = readCountMap(stdout, PARENTS_MAP);
  const durationMs = readScalar(stdout, DURATION_MAP);

  const byFilename = new Map<string, { count: number; errnos: Map<string, number> }>();
  const fileEntry = (filename: string) => {
    let e = byFilename.get(filename);
    if (e === undefined) byFilename.set(filename, (e = { count: 0, errnos: new Map() }));
    return e;
  };
  // Parents are keyed "ppid,cgroupId": the cgroup is the exec callers', so one parent can span two.
  const byParent = new Map<string, { ppid: number; cgroupId: number; count: number; failed: number }>();
  const parentEntry = (ppid: number, cgroupId: number) => {
    const key = `${ppid},${cgroupId}`;
    let e = byParent.get(key);
    if (e === undefined) byParent.set(key, (e = { ppid, cgroupId, count: 0, failed: 0 }));
    return e;
  };

  let total = 0;
  for (const [key, count] of Object.entries(execs)) {
    const [ppid = '', cgroup = '', filename = ''] = match(EXEC_KEY, key, EXECS_MAP, 'ppid,cgroup,filename');
    total += count;
    fileEntry(filename).count += count;
    parentEntry(Number(ppid), Number(cgroup)).count += count;
  }
  let failed = 0;
  for (const [key, count] of Object.entries(failures)) {
    const [ppid = '', errno = '', cgroup = '', filename = ''] = match(FAILURE_KEY, key, FAILURES_MAP, 'ppid,errno,cgroup,filename');
    failed += count;
    add(fileEntry(filename).errnos, errnoName(Number(errno)), count);
    parentEntry(Number(ppid), Number(cgroup)).failed += count;
  }

  // A parent may have changed its comm (exec'd itself) during the capture: name it by the most frequent one.
  const comms = new Map<number, { comm: string; count: number }>();
  for (const [key, count] of Object.entries(parentComms)) {
    const [ppid = '', comm = ''] = match(PARENT_KEY, key, PARENTS_MAP, 'ppid,comm');
    const best = comms.get(Number(ppid));
    if (best === undefined || count > best.count || (count === best.count && comm < best.comm)) comms.set(Number(ppid), { comm, count });
  }

  const cgroupPaths = new Map<number, string | null>();
  const pathOf = (id: number): string | null => {
    if (!cgroupPaths.has(id)) cgroupPaths.set(id, ctx.cgroupPathOf(id));
    return cgroupPaths.get(id) ?? null;
  };

  const filenames = [...byFilename].map(([filename, e]): ExecFilename => {
    const errnos = [...e.errnos].map(([errno, count]) => ({ errno, count })).sort((a, b) => b.count - a.count || cmp(a.errno, b.errno));
    return { filename, count: e.count, failed: errnos.reduce((s, f) => s + f.count, 0), failures: errnos };
  });
  filenames.sort((a, b) => b.count - a.count || b.failed - a.failed || cmp(a.filename, b.filename));

  const parents = [...byParent.values()].map(
    (p): ExecParent => ({ ppid: p.ppid, comm: comms.get(p.ppid)?.comm ?? null, cgroupId: p.cgroupId, cgroup: pathOf(p.cgroupId), count: p.count, failed: p.failed }),
  );
  parents.sort((a, b) => b.count - a.count || b.failed - a.failed || a.ppid - b.ppid || a.cgroupId - b.cgroupId);

  return {
    execs: total,
    failed,
    durationMs,
    execsPerSecond: durationMs !== null && durationMs > 0 ? Math.round((total * 10_000) / durationMs) / 10 : null,
    filenames: filenames.slice(0, top),
    distinctFilenames: filenames.length,
    parents: parents.slice(0, top),
    distinctParents: parents.length,
  };
}
