import { isLinkablePath, type LinkSigner } from '../auth/signed-links.ts';
import type { Investigation } from '../core/investigation.ts';
import { storedArtifact } from '../report/view.ts';
import { FLAMEGRAPH_ARTIFACT, thumbnailName } from '../flamegraph/artifacts.ts';

/**
 * Signed links to what a message points at: the report, the first flamegraph and its PNG thumbnail, and each
 * stored artifact a finding names as evidence (one still in an agent's spool gets none: it would answer 404).
 */
export function messageLinks(inv: Investigation, links: LinkSigner) {
  const art = (suffix: string) => inv.artifacts.find((a) => a.name.endsWith(suffix))?.name;
  const artifactUrl = (name: string | undefined) => (name ? links.url(`/v1/investigations/${inv.id}/artifacts/${name}`) : undefined);
  const report = inv.artifacts.some((a) => a.name === 'report.html') ? links.url(`/v1/investigations/${inv.id}/report`) : undefined;
  const flamegraph = artifactUrl(art(`/${FLAMEGRAPH_ARTIFACT}`));
  // Stored by the agent when the investigation was to be sent to chat, else drawn by the API on first request.
  const svg = art(`/${FLAMEGRAPH_ARTIFACT}`);
  const flamegraphPng = artifactUrl(svg ? thumbnailName(svg) : undefined);
  const named = new Set((inv.summary?.findings ?? []).flatMap((f) => f.evidence.map((e) => e.artifact)));
  // A name a link cannot carry ("?" or "#" in it) is shown without one rather than signed wrongly.
  const linkable = (n: string) => storedArtifact(inv, n) !== undefined && isLinkablePath(`/v1/investigations/${inv.id}/artifacts/${n}`);
  const evidence = new Map([...named].filter(linkable).map((n) => [n, artifactUrl(n)!] as const));
  return { ...(report ? { report } : {}), ...(flamegraph ? { flamegraph } : {}), ...(flamegraphPng ? { flamegraphPng } : {}), evidence };
}
