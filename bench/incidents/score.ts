import type { Investigation } from '../../src/core/investigation.ts';
import type { Culprit } from './incident.ts';
import type { CulpritKind, RubricEntry } from './rubric.ts';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Identifiers of the culprit the rubric accepts, each as a pattern that must not match inside a longer word. */
function culpritPatterns(c: Culprit, kinds: CulpritKind[]): { kind: CulpritKind; value: string; re: RegExp }[] {
  const out: { kind: CulpritKind; value: string; re: RegExp }[] = [];
  const add = (kind: CulpritKind, value: string) => out.push({ kind, value, re: new RegExp(`(^|[^\\w/-])${escape(value)}($|[^\\w-])`) });
  if (kinds.includes('comm')) c.comms.forEach((v) => add('comm', v));
  if (kinds.includes('pid')) c.pids.forEach((v) => add('pid', String(v)));
  if (kinds.includes('cgroup')) out.push({ kind: 'cgroup', value: c.cgroup, re: new RegExp(escape(c.cgroup)) });
  if (kinds.includes('address')) c.addresses.forEach((v) => out.push({ kind: 'address', value: v, re: new RegExp(escape(v)) }));
  return out;
}

/** Scores a finished investigation against the rubric: the rubric lines it fails, in words (empty: it passes). */
/** `chain` is the playbooks that ran, in order (triage, then the one it chained into); `inv` is the last one's record. */
export function score(rubric: RubricEntry, culprit: Culprit, chain: string[], inv: Investigation): { failed: string[]; routerFailed: boolean } {
  const failed: string[] = [];
  const routerFailed = !chain.some((p) => rubric.playbooks.includes(p));
  if (routerFailed) failed.push(`routed to ${chain.join(' → ')}, expected ${rubric.playbooks.join(' or ')}`);
  if (inv.status !== 'succeeded') failed.push(`investigation ${inv.status}${inv.reason ? `: ${inv.reason}` : ''}`);
  const headline = inv.summary?.headline ?? '';
  const findings = inv.summary?.findings ?? [];
  if (rubric.cause && !rubric.cause.pattern.test(headline)) failed.push(`headline does not name the cause (${rubric.cause.says})`);
  if (rubric.culprit) {
    const text = [headline, ...findings.flatMap((f) => [f.title, f.detail ?? ''])].join('\n');
    const ids = culpritPatterns(culprit, rubric.culprit);
    if (!ids.some((p) => p.re.test(text))) failed.push(`culprit not named (any of: ${ids.map((p) => `${p.kind} ${p.value}`).join(', ') || 'none known'})`);
  }
  if (rubric.noCritical) {
    const critical = findings.filter((f) => f.severity === 'critical');
    if (critical.length > 0) failed.push(`critical finding on a healthy target: ${critical.map((f) => f.title).join('; ')}`);
    if (!inv.summary) failed.push('no summary');
  }
  return { failed, routerFailed };
}
