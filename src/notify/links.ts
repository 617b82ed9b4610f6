import type { LinkSigner } from '../auth/signed-links.ts';
import type { Investigation } from '../core/investigation.ts';
import { thumbnailName } from '../flamegraph/png.ts';

/** Signed links to what a message points at: the report, the first flamegraph and its PNG thumbnail. */
export function messageLinks(inv: Investigation, links: LinkSigner) {
  const art = (suffix: string) => inv.artifacts.find((a) => a.name.endsWith(suffix))?.name;
  const artifactUrl = (name: string | undefined) => (name ? links.url(`/v1/investigations/${inv.id}/artifacts/${name}`) : undefined);
  const report = inv.artifacts.some((a) => a.name === 'report.html') ? links.url(`/v1/investigations/${inv.id}/report`) : undefined;
  const flamegraph = artifactUrl(art('/flamegraph.svg'));
  // Stored by the agent when the investigation was to be sent to chat, else drawn by the API on first request.
  const svg = art('/flamegraph.svg');
  const flamegraphPng = artifactUrl(svg ? thumbnailName(svg) : undefined);
  return { ...(report ? { report } : {}), ...(flamegraph ? { flamegraph } : {}), ...(flamegraphPng ? { flamegraphPng } : {}) };
}

