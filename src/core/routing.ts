import { z } from 'zod';

/** One playbook's standing against a symptom: its score (0..1) and the words that gave it. */
export const RoutingCandidate = z.object({
  playbook: z.string(),
  score: z.number().min(0).max(1),
  /** The words of the symptom that decided the score, e.g. "ENOSPC, mount; not: cpu". */
  why: z.string(),
});
export type RoutingCandidate = z.infer<typeof RoutingCandidate>;

/**
 * Why an investigation runs the playbook it runs: the one a request named (score 1, why "named"), or the best
 * scored against its symptom text, with up to three runners-up. `confident: false` means no playbook scored high
 * enough and the broad `triage` playbook runs instead (src/playbooks/route.ts).
 */
export const Routing = RoutingCandidate.extend({
  confident: z.boolean(),
  alternatives: z.array(RoutingCandidate).max(3),
});
export type Routing = z.infer<typeof Routing>;

/**
 * One line for people: "→ enospc (0.82): ENOSPC, mount; also: file-errors 0.31". Chat acks and the CLI show it;
 * a named playbook reads "→ enospc (named)".
 */
export function routingText(r: Routing): string {
  if (r.why === 'named') return `→ ${r.playbook} (named)`;
  const also = r.alternatives.map((a) => `${a.playbook} ${a.score.toFixed(2)}`).join(', ');
  return `→ ${r.playbook} (${r.score.toFixed(2)}): ${r.why}${also ? `; also: ${also}` : ''}`;
}
