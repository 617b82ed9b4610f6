import { describeDurationMs } from './duration.ts';
import type { ArtifactRef, Investigation, Step, UnstoredArtifact } from './investigation.ts';

/**
 * Artifacts as the record lists them: stored ones with their URL, and outputs not stored yet, said in words in
 * their step's reason ("raw output not stored: object storage unreachable for 2m") until they arrive late.
 */

export type RecordArtifact = Investigation['artifacts'][number];

export const artifactUrl = (id: string, name: string) => `/v1/investigations/${id}/artifacts/${name}`;

export const withUrl = (id: string, a: ArtifactRef): RecordArtifact => ({ ...a, url: artifactUrl(id, a.name) });

/** `existing` with `added`, an artifact stored again (same name) replacing its earlier entry. */
export function mergeArtifacts<T extends { name: string }>(existing: readonly T[], added: readonly T[]): T[] {
  const names = new Set(added.map((a) => a.name));
  return [...existing.filter((a) => !names.has(a.name)), ...added];
}

const KINDS: readonly (readonly [RegExp, string])[] = [
  [/^result\.json$/, 'parsed result'],
  // Every tool's raw material is raw.<ext>, except funcgraph's tracefs text.
  [/^(raw\.[a-z0-9]+|trace\.txt)$/, 'raw output'],
  [/^stacks\.folded$/, 'folded stacks'],
  [/^flamegraph\.svg$/, 'flamegraph'],
  [/^flamegraph.*\.png$/, 'flamegraph thumbnail'],
  // offcputime's, beside a profile's in a latency run (src/flamegraph/artifacts.ts names them).
  [/^offcpu\.folded$/, 'off-CPU folded stacks'],
  [/^offcpu-flamegraph\.svg$/, 'off-CPU flamegraph'],
  [/^offcpu-flamegraph.*\.png$/, 'off-CPU flamegraph thumbnail'],
  [/\.speedscope\.json$/, 'speedscope profile'],
  [/\.pb\.gz$/, 'pprof profile'],
];

/** "errors/node-17/raw.json" → "raw output": what the artifact is, for people; its file name when not known. */
export function artifactKind(name: string): string {
  const file = name.slice(name.lastIndexOf('/') + 1);
  return KINDS.find(([re]) => re.test(file))?.[1] ?? file;
}

const listed = (items: string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

/** What marks the words below inside a step's reason, so they can be replaced when the artifacts arrive. */
const NOT_STORED = ' not stored: ';

/**
 * "raw output and parsed result not stored: object storage unreachable for 2m 5s", one clause per reason, the
 * time counted from the earliest failure; null when nothing is missing.
 */
export function unstoredWords(unstored: readonly UnstoredArtifact[], now: number): string | null {
  if (unstored.length === 0) return null;
  const byReason = new Map<string, UnstoredArtifact[]>();
  for (const u of unstored) byReason.set(u.reason, [...(byReason.get(u.reason) ?? []), u]);
  return [...byReason.entries()]
    .map(([reason, items]) => {
      const kinds = [...new Set(items.map((u) => artifactKind(u.name)))];
      const since = Math.min(...items.map((u) => Date.parse(u.since)).filter(Number.isFinite));
      const span = Number.isFinite(since) ? ` for ${describeDurationMs(Math.max(0, now - since))}` : '';
      return `${listed(kinds)}${NOT_STORED}${reason}${span}`;
    })
    .join('; ');
}

/** The step with `unstored` as its missing outputs: the reason keeps its other clauses and says what is missing now. */
export function withUnstored(step: Step, unstored: readonly UnstoredArtifact[], now: number): Step {
  const { unstored: _previous, reason: _reason, ...rest } = step;
  const kept = (step.reason ?? '').split('; ').filter((part) => part !== '' && !part.includes(NOT_STORED));
  const words = unstoredWords(unstored, now);
  const reason = [...kept, ...(words ? [words] : [])].join('; ');
  return { ...rest, ...(reason ? { reason } : {}), ...(unstored.length ? { unstored: [...unstored] } : {}) };
}

/**
 * Artifacts an agent stored after its capture ended: listed on the record (with their URL) and on their step's
 * entry for that node, which stops saying they are missing. The step entry may not be recorded yet (other nodes
 * of the step still capturing): the record's list is what collecting the step checks then.
 */
export function mergeLateArtifacts(inv: Investigation, late: { stepId: string; node: string; artifacts: readonly ArtifactRef[] }, now: number): Investigation {
  const names = new Set(late.artifacts.map((a) => a.name));
  const steps = inv.steps.map((s) => {
    if (s.id !== late.stepId || s.node !== late.node) return s;
    const merged = { ...s, artifacts: [...s.artifacts.filter((n) => !names.has(n)), ...names] };
    return s.unstored ? withUnstored(merged, s.unstored.filter((u) => !names.has(u.name)), now) : merged;
  });
  return { ...inv, steps, artifacts: mergeArtifacts(inv.artifacts, late.artifacts.map((a) => withUrl(inv.id, a))) };
}
