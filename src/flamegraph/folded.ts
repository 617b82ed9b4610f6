import { z } from 'zod';

/**
 * Folded stacks (Brendan Gregg's format, read by flamegraph.pl, speedscope and friends):
 * one line per distinct stack, frames root-first joined by ";", then a space and the sample count.
 * By convention here the first frame is the process name (comm).
 */
export interface FoldedStack {
  frames: string[];
  count: number;
}

/** ";" separates frames and a line break ends the record, so neither may survive inside a frame. */
function sanitizeFrame(frame: string): string {
  const clean = frame.replace(/[\r\n]+/g, ' ').replaceAll(';', ':').trim();
  return clean === '' ? '[unknown]' : clean;
}

// Code-unit order, not localeCompare: the serialized file must not depend on the host's locale.
function byStack(a: FoldedStack, b: FoldedStack): number {
  const ka = a.frames.join(';');
  const kb = b.frames.join(';');
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Merges identical stacks (after sanitizing frames) and drops non-positive counts; the result is sorted. */
export function foldStacks(entries: Iterable<{ frames: readonly string[]; count: number }>): FoldedStack[] {
  const merged = new Map<string, FoldedStack>();
  for (const { frames, count } of entries) {
    if (!(count > 0)) continue;
    // A stack with no frames at all would serialize as " N", which no reader accepts.
    const clean = frames.length > 0 ? frames.map(sanitizeFrame) : ['[unknown]'];
    const key = clean.join(';');
    const seen = merged.get(key);
    if (seen) seen.count += count;
    else merged.set(key, { frames: clean, count });
  }
  return [...merged.values()].sort(byStack);
}

/** One "frame;frame;... count" line per stack, sorted, newline-terminated; "" for no stacks. */
export function serializeFolded(stacks: readonly FoldedStack[]): string {
  return [...stacks]
    .sort(byStack)
    .map((s) => `${s.frames.join(';')} ${s.count}\n`)
    .join('');
}

/** Reads a folded file; frames may contain spaces (the count follows the last one). Throws on a malformed line. */
export function parseFolded(text: string): FoldedStack[] {
  const entries: FoldedStack[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const space = line.lastIndexOf(' ');
    const countText = line.slice(space + 1);
    if (space <= 0 || !/^\d+$/.test(countText)) {
      throw new Error(`folded stacks line ${i + 1}: expected "frame;frame;... count", got ${JSON.stringify(line.slice(0, 80))}`);
    }
    entries.push({ frames: line.slice(0, space).split(';'), count: Number(countText) });
  });
  return foldStacks(entries);
}

export function totalSamples(stacks: readonly FoldedStack[]): number {
  return stacks.reduce((sum, s) => sum + s.count, 0);
}

/** One ranked function of a profile (its schema lives here, beside the ranking, so the profile tool's result and the flamegraph code share it). */
export const TopFunction = z.object({
  name: z.string(),
  /** Share of samples in which the function is the leaf frame (on CPU itself). */
  self: z.number(),
  /** Share of samples in which the function is anywhere on the stack. */
  total: z.number(),
});
export type TopFunction = z.infer<typeof TopFunction>;

/**
 * Ranks functions by self share (samples where the function is the leaf), then total share (samples where it is
 * anywhere on the stack, counted once per stack so recursion does not inflate it). Shares are fractions of all
 * samples. The first frame is the process name, not a function, and is left out of the ranking.
 */
export function topFunctions(stacks: readonly FoldedStack[], limit: number): TopFunction[] {
  const samples = totalSamples(stacks);
  if (samples === 0 || limit <= 0) return [];
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const { frames, count } of stacks) {
    const functions = frames.slice(1);
    const leaf = functions.at(-1);
    if (leaf === undefined) continue;
    self.set(leaf, (self.get(leaf) ?? 0) + count);
    for (const fn of new Set(functions)) total.set(fn, (total.get(fn) ?? 0) + count);
  }
  // "[unknown]" is many different functions without a name: ranking it would mislead (profiles count it apart).
  total.delete('[unknown]');
  return [...total.entries()]
    .map(([name, t]) => ({ name, self: (self.get(name) ?? 0) / samples, total: t / samples }))
    .sort((a, b) => b.self - a.self || b.total - a.total || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, limit);
}
