import type { Routing, RoutingCandidate } from '../core/routing.ts';
import { readSymptom, type SymptomText } from './symptom-text.ts';
import type { TermMatch, Vocabulary } from './vocabulary.ts';

/**
 * Scores every playbook against a symptom with its routing vocabulary (vocabulary.ts) and picks one. Pure: the
 * same text and playbooks give the same routing.
 */

/**
 * The raw weight at which a playbook's score is one half: score = raw / (raw + HALF_SCORE_AT). With weights of 3 for
 * a word that names a problem outright (ENOSPC, OOMKilled, iowait) and 1 for a hint (slow, disk), one outright word
 * scores 0.6, one hint 0.33, two hints 0.5.
 */
export const HALF_SCORE_AT = 2;

/**
 * A playbook is chosen when it scores this much; below it `triage` runs. 0.5 is a raw weight of 2 (HALF_SCORE_AT):
 * one specific term (weight ≥ 2: an errno, a signal, a tool's name, "iowait") or two hints that agree ("reads" and
 * "300 ms"), never one generic word alone ("slow", "high"), which is what the broad triage checklist is for.
 * Measured on test/fixtures/symptoms.yaml: see test/unit/routing.test.ts, which prints the hit rate.
 */
export const CONFIDENT_SCORE = 0.5;

/** The playbook that runs when no other is confident: the broad first look (playbooks/triage.yaml). */
export const TRIAGE = 'triage';

/** At most this many runners-up are reported. */
const MAX_ALTERNATIVES = 3;

export interface Routable {
  name: string;
  vocabulary: Vocabulary;
}

export interface Scored extends RoutingCandidate {
  /** The weight for minus the weight against, before squashing into 0..1. */
  raw: number;
}

const round = (x: number) => Math.round(x * 100) / 100;

/**
 * One playbook's score: each term counts once, by its strongest match, positive where the text says it and negative
 * where the text denies it ("CPU isn't saturated"). Terms are taken heaviest first, and a word already counted for a
 * heavier term is not counted again ("disk full" does not also count "disk").
 */
export function scorePlaybook(p: Routable, s: SymptomText): Scored {
  const found = p.vocabulary.terms
    .map((term) => ({ term, matches: term.matches(s) }))
    .filter((x) => x.matches.length > 0)
    .sort((a, b) => b.term.weight - a.term.weight);
  const claimed = new Set<number>();
  const said: string[] = [];
  const denied: string[] = [];
  let raw = 0;
  for (const { term, matches } of found) {
    const free = matches.filter((m: TermMatch) => m.tokens.every((i) => !claimed.has(i)));
    // A term said anywhere counts for; only when every mention is denied does it count against.
    const best = free.find((m) => !m.negated) ?? free[0];
    if (!best) continue;
    best.tokens.forEach((i) => claimed.add(i));
    if (best.negated) {
      raw -= term.weight;
      if (!denied.includes(best.text)) denied.push(best.text);
    } else {
      raw += term.weight;
      if (!said.includes(best.text)) said.push(best.text);
    }
  }
  const score = raw <= 0 ? 0 : round(raw / (raw + HALF_SCORE_AT));
  const why = [said.join(', '), denied.length ? `not: ${denied.join(', ')}` : ''].filter(Boolean).join('; ');
  return { playbook: p.name, score, why, raw };
}

/** Every playbook scored, best first; ties keep the playbooks' order. */
export function scoreAll(playbooks: readonly Routable[], text: string): Scored[] {
  const s = readSymptom(text);
  return playbooks.map((p) => scorePlaybook(p, s)).sort((a, b) => b.score - a.score || b.raw - a.raw);
}

/** Whether the text has a letter or digit in any script: "?!" or blanks are no symptom; "диск заполнен" is one (it runs triage). */
export const hasWords = (text: string) => /[\p{L}\p{N}]/u.test(text);

const candidate = (s: Scored): RoutingCandidate => ({ playbook: s.playbook, score: s.score, why: s.why });

/**
 * The routing for a symptom: the best playbook when it reaches CONFIDENT_SCORE, otherwise `triage` (when the set has
 * it) with the best scores as alternatives. Without a triage playbook the best-scoring one runs, not confident; null
 * when there is no triage and nothing scored at all.
 */
export function routeSymptom(playbooks: readonly Routable[], text: string): Routing | null {
  const scored = scoreAll(playbooks, text);
  const best = scored[0];
  const others = (name: string) => scored.filter((s) => s.playbook !== name && s.score > 0).slice(0, MAX_ALTERNATIVES).map(candidate);
  if (best && best.score >= CONFIDENT_SCORE) {
    return { ...candidate(best), confident: true, alternatives: others(best.playbook) };
  }
  const closest = best && best.score > 0 ? `closest: ${best.playbook} ${best.score.toFixed(2)} (${best.why})` : 'nothing in it points to one playbook';
  const triage = scored.find((s) => s.playbook === TRIAGE);
  if (triage) {
    return {
      playbook: TRIAGE,
      score: triage.score,
      confident: false,
      why: `no playbook reached ${CONFIDENT_SCORE.toFixed(2)}; ${closest}`,
      alternatives: others(TRIAGE),
    };
  }
  if (!best || best.score === 0) return null;
  return { ...candidate(best), confident: false, why: `no triage playbook; ${closest}`, alternatives: others(best.playbook) };
}

/** A playbook the request named: no scoring. */
export const named = (playbook: string): Routing => ({ playbook, score: 1, confident: true, why: 'named', alternatives: [] });
