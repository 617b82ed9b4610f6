import type { z } from 'zod';
import { OffCpuResult } from '../../bpf/bpftrace/offcputime/result.ts';
import { ProfileResult } from '../../bpf/bpftrace/profile/result.ts';
import { isLinkablePath, type LinkSigner } from '../auth/signed-links.ts';
import type { FlamegraphKind, ResultLinks } from '../chatops/blocks.ts';
import type { Investigation } from '../core/investigation.ts';
import { cpuTimes, dominantSide } from '../findings/off-cpu.ts';
import { storedArtifact } from '../report/view.ts';
import { FLAMEGRAPH_ARTIFACT, isStepArtifact, OFFCPU_FLAMEGRAPH_ARTIFACT, thumbnailName } from '../flamegraph/artifacts.ts';

const GRAPH_FILE: Record<FlamegraphKind, string> = { 'on-cpu': FLAMEGRAPH_ARTIFACT, 'off-cpu': OFFCPU_FLAMEGRAPH_ARTIFACT };

/** The results of the succeeded steps of `tool` that `schema` reads (a record from before a field was added is left out). */
function resultsOf<T>(inv: Investigation, tool: string, schema: z.ZodType<T>): T[] {
  return inv.steps.flatMap((s) => {
    if (s.tool !== tool || s.status !== 'succeeded') return [];
    const r = schema.safeParse(s.result);
    return r.success ? [r.data] : [];
  });
}

/**
 * The flame graph a reader needs first when there are both (the latency playbook draws both): the off-CPU one when
 * time blocked dominates, weighed as the latency finding weighs it (src/findings/off-cpu.ts), else the on-CPU one.
 */
function leadingGraph(inv: Investigation): FlamegraphKind {
  const { onCpuUs, offCpuUs } = cpuTimes(resultsOf(inv, 'profile', ProfileResult), resultsOf(inv, 'offcputime', OffCpuResult));
  return dominantSide(onCpuUs, offCpuUs) === 'off-cpu' ? 'off-cpu' : 'on-cpu';
}

/**
 * Signed links to what a message points at: the report, a flamegraph and its PNG thumbnail (with both an on-CPU
 * and an off-CPU graph, the one that matters shown and the other behind a button), and each stored artifact a
 * finding names as evidence (one still in an agent's spool gets none: it would answer 404).
 */
export function messageLinks(inv: Investigation, links: LinkSigner): ResultLinks & { evidence: Map<string, string> } {
  const artifactUrl = (name: string) => links.url(`/v1/investigations/${inv.id}/artifacts/${name}`);
  const report = inv.artifacts.some((a) => a.name === 'report.html') ? links.url(`/v1/investigations/${inv.id}/report`) : undefined;
  // The first of each kind (a step on several nodes draws one per node; the report shows them all).
  const graphs = (['on-cpu', 'off-cpu'] as const).flatMap((kind) => {
    const svg = inv.artifacts.find((a) => isStepArtifact(a.name, GRAPH_FILE[kind]))?.name;
    return svg ? [{ kind, svg }] : [];
  });
  const lead = graphs.length > 1 ? leadingGraph(inv) : graphs[0]?.kind;
  const shown = graphs.find((g) => g.kind === lead);
  const other = graphs.find((g) => g.kind !== lead);
  const named = new Set((inv.summary?.findings ?? []).flatMap((f) => f.evidence.map((e) => e.artifact)));
  // A name a link cannot carry ("?" or "#" in it) is shown without one rather than signed wrongly.
  const linkable = (n: string) => storedArtifact(inv, n) !== undefined && isLinkablePath(`/v1/investigations/${inv.id}/artifacts/${n}`);
  const evidence = new Map([...named].filter(linkable).map((n) => [n, artifactUrl(n)] as const));
  return {
    ...(report ? { report } : {}),
    // The thumbnail was stored by the agent when the investigation was to be sent to chat, else the API draws it on first request.
    ...(shown ? { flamegraph: artifactUrl(shown.svg), flamegraphPng: artifactUrl(thumbnailName(shown.svg)), flamegraphKind: shown.kind } : {}),
    ...(other ? { otherFlamegraph: { kind: other.kind, url: artifactUrl(other.svg) } } : {}),
    evidence,
  };
}
