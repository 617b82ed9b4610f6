import { ValidationError } from '../core/errors.ts';
import type { Playbook } from './playbook.ts';

/** The playbook a request names, or the first whose symptoms match its free text. */
export function choosePlaybook(playbooks: readonly Playbook[], req: { playbook?: string; symptom?: string }): Playbook {
  const names = playbooks.map((b) => b.name).join(', ');
  if (req.playbook) {
    const p = playbooks.find((b) => b.name === req.playbook);
    if (!p) throw new ValidationError(`unknown playbook "${req.playbook}"`, [{ path: 'playbook', message: `unknown playbook; known: ${names}` }]);
    return p;
  }
  const symptom = req.symptom ?? '';
  const p = playbooks.find((b) => b.symptoms.some((re) => re.test(symptom)));
  if (!p) throw new ValidationError('no playbook matches the symptom', [{ path: 'symptom', message: `no playbook matches; name one of: ${names}` }]);
  return p;
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
