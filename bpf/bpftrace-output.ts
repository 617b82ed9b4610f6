import { z } from 'zod';

// Other maps (such as the scalar @complete) share the document type, so only the wanted map's shape is checked.
const MapDoc = z.object({ type: z.literal('map'), data: z.record(z.string(), z.unknown()) });
const CountMap = z.record(z.string(), z.number().int().nonnegative());

/**
 * The last printing of count map `mapName` in bpftrace's `-f json` stdout (one JSON document per line).
 * bpftrace prints nothing for an empty map, so absence means "no events", not an error.
 */
export function readCountMap(stdout: string, mapName: string): Record<string, number> {
  let found: Record<string, number> = {};
  stdout.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      throw new Error(`bpftrace output line ${i + 1} is not JSON (truncated output?): ${JSON.stringify(line.slice(0, 80))}`);
    }
    const parsed = MapDoc.safeParse(doc);
    if (!parsed.success || !Object.hasOwn(parsed.data.data, mapName)) return;
    const map = CountMap.safeParse(parsed.data.data[mapName]);
    if (!map.success) throw new Error(`bpftrace output line ${i + 1}: ${mapName} is not a map of counts: ${map.error.message}`);
    found = map.data;
  });
  return found;
}

/** Positional parameters are spliced into the program as numbers: refuse anything that is not a plain integer. */
export function positionalInt(what: string, n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what} must be a non-negative integer, got ${n}`);
  return String(n);
}
