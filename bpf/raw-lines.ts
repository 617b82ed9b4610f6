/**
 * Where a result row was read from in a tool's raw text output, so a finding can point at the very line (evidence
 * `lines`, served by `?lines=`) as well as at the row of result.json. bpftrace's `-f json` output is one JSON document
 * per line: a map's entries are all on the line of its last printing.
 */
import { z } from 'zod';

/** How much of the line a row quotes: its own entry, enough to find it by eye (Evidence.quote holds up to 300). */
const MAX_RAW_TEXT = 200;

/** A row's place in the raw output: its 1-based line, and the text on it that is the row's (found there verbatim, its first MAX_RAW_TEXT characters). */
export const RawLine = z.object({ line: z.number().int().min(1), text: z.string().min(1).max(MAX_RAW_TEXT) });
export type RawLine = z.infer<typeof RawLine>;

/** The name of the raw output as stored beside result.json (the agent stores bpftrace's stdout as raw.json). */
export const BPFTRACE_RAW_FILE = 'raw.json';

/**
 * A finder of map entries in bpftrace stdout: for map `mapName` and key `key`, the line of the map's last printing
 * and the entry's text on it (`"key": value`, as bpftrace printed it), or null when the key is not found verbatim
 * there (bpftrace escaped it differently from JSON.stringify: then the row has no line rather than a wrong one).
 */
export function bpftraceMapLines(stdout: string): (mapName: string, key: string) => RawLine | null {
  const lines = stdout.split('\n');
  const lastLine = new Map<string, number>();
  lines.forEach((l, i) => {
    const m = /^\{"type": ?"map", ?"data": ?\{"(@[^"]*)":/.exec(l);
    if (m) lastLine.set(m[1]!, i);
  });
  return (mapName, key) => {
    const i = lastLine.get(mapName);
    if (i === undefined) return null;
    const line = lines[i]!;
    const quoted = JSON.stringify(key);
    const at = line.indexOf(`${quoted}:`);
    if (at < 0) return null;
    // The entry: its key, and its value up to the next entry or the end of the map.
    const end = line.slice(at + quoted.length).search(/[,}]/);
    const text = line.slice(at, end < 0 ? undefined : at + quoted.length + end);
    // A long entry keeps its beginning: still found verbatim on the line.
    return { line: i + 1, text: text.slice(0, MAX_RAW_TEXT) };
  };
}
