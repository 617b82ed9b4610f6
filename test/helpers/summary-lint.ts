import { artifactNamesOf } from '../../src/findings/step-problems.ts';
import { SEVERITY_ORDER, type Step, type Summary } from '../../src/core/investigation.ts';

/** An artifact name below an investigation: `<step>/<node>/<file>`. */
const ARTIFACT_NAME = /^[a-z][a-z0-9-]*\/[^/\s]+\/[^\s]+$/;

/**
 * What a person would trip over in a summary, as a list of problems (empty when it reads well): sentences left
 * hanging by an empty list, words said twice, values that leaked as "undefined", evidence that is not an artifact
 * of this investigation, findings out of severity order, branches not taken shown as findings, critical findings
 * without a next step. Used on every playbook's templates (unit) and on summaries of real captures (e2e).
 */
export function summaryProblems(summary: Summary, steps: readonly Step[]): string[] {
  const problems: string[] = [];
  const texts: [string, string][] = [['headline', summary.headline]];
  summary.findings.forEach((f, i) => {
    texts.push([`findings[${i}].title`, f.title], [`findings[${i}].detail`, f.detail]);
    if (f.next) {
      texts.push([`findings[${i}].next.remedy`, f.next.remedy]);
      f.next.commands.forEach((c, j) => texts.push([`findings[${i}].next.commands[${j}]`, c]));
    }
  });
  summary.notes.forEach((n, i) => texts.push([`notes[${i}]`, n]));

  for (const [at, text] of texts) {
    const say = (what: string) => problems.push(`${at}: ${what}: ${JSON.stringify(text)}`);
    if (text !== text.trim()) say('leading or trailing space');
    if (/ {2,}/.test(text)) say('a run of spaces');
    if (/:\s*($|[.,;)\n])/.test(text)) say('nothing after a colon (an empty list?)');
    if (/\(\s*\)|\(\s*,/.test(text)) say('empty parentheses');
    if (/,\s*[,.;)]/.test(text)) say('an empty item in a list');
    if (/\b(undefined|NaN)\b|\[object Object\]/.test(text)) say('a value that was not there');
    const twice = /\b([A-Za-z][A-Za-z-]+)\b[\s,]+\1(?![\w-])/i.exec(text);
    if (twice) say(`"${twice[1]}" twice in a row`);
    if (/\b(condition not met|not needed)\b/i.test(text) && !at.startsWith('notes')) say('a branch not taken');
  }

  const known = new Set(steps.flatMap(artifactNamesOf));
  summary.findings.forEach((f, i) => {
    for (const e of f.evidence) {
      if (!ARTIFACT_NAME.test(e)) problems.push(`findings[${i}].evidence: ${JSON.stringify(e)} is not an artifact name`);
      else if (!known.has(e)) problems.push(`findings[${i}].evidence: ${JSON.stringify(e)} is no artifact of these steps`);
    }
    if (f.severity === 'critical' && !(f.next && f.next.commands.length > 0 && f.next.remedy.length > 0)) {
      problems.push(`findings[${i}]: a critical finding without a next step (commands and remedy)`);
    }
  });
  const ranks = summary.findings.map((f) => SEVERITY_ORDER.indexOf(f.severity));
  if (ranks.some((r, i) => i > 0 && r < ranks[i - 1]!)) problems.push(`findings out of severity order: ${summary.findings.map((f) => f.severity).join(', ')}`);
  return problems;
}
