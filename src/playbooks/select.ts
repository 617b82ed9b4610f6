import { ValidationError } from '../core/errors.ts';
import type { Routing } from '../core/routing.ts';
import type { Playbook } from './playbook.ts';
import { hasWords, named, routeSymptom } from './route.ts';

/**
 * The playbook a request names, or the one its symptom routes to (route.ts) with why. A symptom is never refused for
 * matching nothing: it runs `triage`. Refused: an unknown name, a symptom without a single word, and — only where the
 * playbook set has no triage — a symptom nothing scores for.
 */
export function routePlaybook(playbooks: readonly Playbook[], req: { playbook?: string; symptom?: string }): { playbook: Playbook; routing: Routing } {
  const names = playbooks.map((b) => b.name).join(', ');
  if (req.playbook) {
    const p = playbooks.find((b) => b.name === req.playbook);
    if (!p) throw new ValidationError(`unknown playbook "${req.playbook}"`, [{ path: 'playbook', message: `unknown playbook; known: ${names}` }]);
    return { playbook: p, routing: named(p.name) };
  }
  const symptom = req.symptom ?? '';
  if (!hasWords(symptom)) {
    throw new ValidationError('the symptom says nothing', [{ path: 'symptom', message: `describe what is wrong in words, or name a playbook: ${names}` }]);
  }
  const routing = routeSymptom(playbooks, symptom);
  const p = routing && playbooks.find((b) => b.name === routing.playbook);
  if (!routing || !p) {
    throw new ValidationError('no playbook matches the symptom, and there is no triage playbook', [
      { path: 'symptom', message: `no playbook matches; name one of: ${names}` },
    ]);
  }
  return { playbook: p, routing };
}

/** The playbook a request names or its symptom routes to; see routePlaybook. */
export function choosePlaybook(playbooks: readonly Playbook[], req: { playbook?: string; symptom?: string }): Playbook {
  return routePlaybook(playbooks, req).playbook;
}

/** Validates request params against the playbook's schema; errors name each field under "params". */
export function parsePlaybookParams(p: Playbook, params: unknown): Record<string, unknown> {
  const r = p.params.safeParse(params ?? {});
  if (!r.success) {
    throw new ValidationError(
      `invalid parameters for playbook ${p.name}`,
      r.error.issues.map((i) => ({ path: ['params', ...i.path].join('.'), message: i.message })),
    );
  }
  return r.data;
}
