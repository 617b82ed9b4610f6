import { existsSync, readFileSync } from 'node:fs';
import type { ParseContext } from '../../bpf/tool.ts';

/** A tool's recorded output, from its package: `bpf/<kind>/<tool>/fixtures/<name>` (kind: bpftrace, tracefs; each fixtures/README.md says how it was recorded). */
export const toolFixture = (tool: string, name: string): string => {
  const kind = ['bpftrace', 'tracefs'].find((k) => existsSync(new URL(`../../bpf/${k}/${tool}`, import.meta.url)));
  if (!kind) throw new Error(`no tool package named ${tool} under bpf/`);
  return readFileSync(new URL(`../../bpf/${kind}/${tool}/fixtures/${name}`, import.meta.url), 'utf8');
};

/**
 * The ParseContext a recording needs: the cgroup ids as they were on the recording machine, mapped to their paths
 * (any other id is unknown), and the ids the parser looked up, in order, so tests can check it asked only once.
 */
export function recordingContext(paths: Readonly<Record<number, string>>, arch = 'x64'): ParseContext & { lookups: number[] } {
  const lookups: number[] = [];
  return {
    arch,
    lookups,
    cgroupPathOf(id: number) {
      lookups.push(id);
      return paths[id] ?? null;
    },
  };
}
