import { z } from 'zod';

const MapDoc = z.object({ type: z.literal('map'), data: z.record(z.string(), z.unknown()) });
const CountMap = z.record(z.string(), z.number().int().nonnegative());

/**
 * The last printing of each map in bpftrace's `-f json` stdout (one JSON document per line), by name, each as it was
 * printed: its reader checks its shape. bpftrace prints nothing for an empty map, so absence means "no events".
 */
export function readMaps(stdout: string): Map<string, unknown> {
  const maps = new Map<string, unknown>();
  stdout.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      throw new Error(`bpftrace output line ${i + 1} is not JSON (truncated output?): ${JSON.stringify(line.slice(0, 80))}`);
    }
    // Scalars (such as @complete) share the document type with maps of keys.
    const parsed = MapDoc.safeParse(doc);
    if (parsed.success) for (const [name, value] of Object.entries(parsed.data.data)) maps.set(name, value);
  });
  return maps;
}

/** The last printing of count map `mapName` in bpftrace's `-f json` stdout; {} when it printed none. */
export function readCountMap(stdout: string, mapName: string): Record<string, number> {
  const value = readMaps(stdout).get(mapName);
  if (value === undefined) return {};
  const map = CountMap.safeParse(value);
  if (!map.success) throw new Error(`bpftrace output: ${mapName} is not a map of counts: ${map.error.message}`);
  return map.data;
}

/** Positional parameters are spliced into the program as numbers: refuse anything that is not a plain integer. */
export function positionalInt(what: string, n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what} must be a non-negative integer, got ${n}`);
  return String(n);
}

/**
 * How many cgroups one capture can filter on in the kernel. bpftrace 0.17 cannot read a task's ancestor cgroup ids
 * (the zero-size `ancestors[]` array is refused), so a pod is the set of its containers' leaf cgroups and every
 * program compares the current cgroup with each of these ids.
 */
export const MAX_CGROUPS = 8;

/**
 * A cgroup set as positional parameters: `first` takes the program's existing cgroup parameter (0 = any cgroup) and
 * `extra` the MAX_CGROUPS - 1 parameters appended last, "0" where unused. 0 never equals a real cgroup id (an
 * inode number, at least 1), so unused slots match nothing and need no test of their own.
 */
export function cgroupArgs(scope: { cgroupIds: readonly number[] }): { first: string; extra: string[] } {
  // A cgroup named twice (say, as a target cgroup and as a container of a target pod) needs one slot.
  const ids = [...new Set(scope.cgroupIds)];
  if (ids.length > MAX_CGROUPS) throw new Error(`at most ${MAX_CGROUPS} cgroup ids can be filtered on, got ${ids.length}`);
  const slots = Array.from({ length: MAX_CGROUPS }, (_, i) => {
    const id = ids[i];
    if (id === undefined) return '0';
    if (id === 0) throw new Error('cgroup id 0 is no cgroup: leave the set empty for "any cgroup"');
    return positionalInt('cgroup id', id);
  });
  return { first: slots[0] ?? '0', extra: slots.slice(1) };
}
