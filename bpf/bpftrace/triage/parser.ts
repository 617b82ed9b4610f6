/**
 * Splits the joint program's output by map prefix and has each tool's own parser read its part: the maps renamed
 * back (@sc_failures → @failures), every other tool's line left blank so line numbers stay those of the whole raw
 * output, and lines that are no tool's map (attached probes, lost events) given to every part.
 */
import type { ParseContext, Parsed } from '../../tool.ts';
import { biolatency } from '../biolatency/manifest.ts';
import { execsnoop } from '../execsnoop/manifest.ts';
import { oomkill } from '../oomkill/manifest.ts';
import { profile } from '../profile/manifest.ts';
import { runqlat } from '../runqlat/manifest.ts';
import { syscount } from '../syscount/manifest.ts';
import { tcpconnect } from '../tcpconnect/manifest.ts';
import { tcpretrans } from '../tcpretrans/manifest.ts';
import { TRIAGE_PARTS, type TriagePart } from './parts.ts';
import type { TriageResult } from './result.ts';

/** The start of a line printing one map: bpftrace prints each map on a line of its own. */
const MAP_LINE = /^(\{"type": ?"[a-z_]+", ?"data": ?\{")@([a-z]+)_/;

/** Each part's stdout, as its own program would have printed it (blank where the other parts printed). */
export function splitOutput(stdout: string): Record<TriagePart, string> {
  const byPrefix = new Map<string, TriagePart>(TRIAGE_PARTS.map((p) => [p.prefix, p.tool]));
  const lines = stdout.split('\n');
  const out = Object.fromEntries(TRIAGE_PARTS.map((p) => [p.tool, [] as string[]])) as Record<TriagePart, string[]>;
  for (const line of lines) {
    const m = MAP_LINE.exec(line);
    const owner = m ? byPrefix.get(m[2]!) : undefined;
    for (const { tool } of TRIAGE_PARTS) {
      if (!m) out[tool].push(line);
      else out[tool].push(owner === tool ? `${m[1]}@${line.slice(m[0].length)}` : '');
    }
  }
  return Object.fromEntries(TRIAGE_PARTS.map((p) => [p.tool, out[p.tool].join('\n')])) as Record<TriagePart, string>;
}

/** Every part parsed by its tool's parser with the tool's default parameters (the profile at the given Hz). */
export function parseTriage(stdout: string, hz: number, ctx: ParseContext): Parsed<TriageResult> {
  const part = splitOutput(stdout);
  const p = profile.parse(part.profile, profile.params.parse({ hz }), ctx);
  const result: TriageResult = {
    syscount: syscount.parse(part.syscount, syscount.params.parse({}), ctx).result,
    runqlat: runqlat.parse(part.runqlat, runqlat.params.parse({}), ctx).result,
    biolatency: biolatency.parse(part.biolatency, biolatency.params.parse({}), ctx).result,
    tcpretrans: tcpretrans.parse(part.tcpretrans, tcpretrans.params.parse({}), ctx).result,
    tcpconnect: tcpconnect.parse(part.tcpconnect, tcpconnect.params.parse({}), ctx).result,
    oomkill: oomkill.parse(part.oomkill, oomkill.params.parse({}), ctx).result,
    execsnoop: execsnoop.parse(part.execsnoop, execsnoop.params.parse({}), ctx).result,
    profile: p.result,
  };
  return { result, extraArtifacts: p.extraArtifacts, ...(p.stacks ? { stacks: p.stacks } : {}) };
}
