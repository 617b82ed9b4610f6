import { artifactNamesOf } from '../../src/findings/step-problems.ts';
import { resolvePointer } from '../../src/core/json-pointer.ts';
import { ConfidenceLevel, Evidence, SEVERITY_ORDER, type Step, type Summary } from '../../src/core/investigation.ts';

/** An artifact name below an investigation: `<step>/<node>/<file>`. */
const ARTIFACT_NAME = /^[a-z][a-z0-9-]*\/[^/\s]+\/[^\s]+$/;

/**
 * What a person would trip over in a summary, as a list of problems (empty when it reads well): sentences left
 * hanging by an empty list, words said twice, values that leaked as "undefined", evidence that is not an artifact
 * of this investigation, findings out of severity order, branches not taken shown as findings, critical findings
 * without a next step; a finding without its confidence and reason, evidence rows that point at nothing in the
 * stored result (or lines past the end of a text artifact), a cause without the rows that show it, a "ruled out"
 * without the figures. Used on every playbook's templates (unit) and on summaries of real captures (e2e).
 * `artifactTexts`: the stored text of artifacts, where a caller has it, to check line ranges against.
 */
export function summaryProblems(summary: Summary, steps: readonly Step[], artifactTexts?: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const texts: [string, string][] = [['headline', summary.headline]];
  summary.findings.forEach((f, i) => {
    texts.push([`findings[${i}].title`, f.title], [`findings[${i}].detail`, f.detail], [`findings[${i}].confidence.reason`, f.confidence.reason]);
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
  // The result a result.json artifact holds: the step's, as the agent stored it.
  const resultOf = (artifact: string) => steps.find((s) => artifact.endsWith('/result.json') && artifactNamesOf(s).includes(artifact));
  summary.findings.forEach((f, i) => {
    if (!ConfidenceLevel.safeParse(f.confidence?.level).success || !f.confidence.reason?.trim()) {
      problems.push(`findings[${i}].confidence: ${JSON.stringify(f.confidence)} is not a level with its reason`);
    }
    f.evidence.forEach((e, j) => {
      const at = `findings[${i}].evidence[${j}]`;
      if (!Evidence.safeParse(e).success) problems.push(`${at}: ${JSON.stringify(e)} is not evidence (artifact, rows or lines, quote)`);
      if (!ARTIFACT_NAME.test(e.artifact)) return problems.push(`${at}: ${JSON.stringify(e.artifact)} is not an artifact name`);
      if (!known.has(e.artifact)) return problems.push(`${at}: ${JSON.stringify(e.artifact)} is no artifact of these steps`);
      if (e.rows) {
        const step = resultOf(e.artifact);
        if (!step) problems.push(`${at}: rows given for ${e.artifact}, which is not a step's result.json`);
        for (const r of e.rows) if (step && resolvePointer(step.result, r) === undefined) problems.push(`${at}: row ${r} points at nothing in ${e.artifact}`);
      }
      if (e.lines) {
        const text = artifactTexts?.get(e.artifact);
        const count = text === undefined ? undefined : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
        if (count === undefined) problems.push(`${at}: lines of ${e.artifact}, whose text was not given to check them against`);
        else if (e.lines[1] > count) problems.push(`${at}: lines ${e.lines.join('-')} past the end of ${e.artifact} (${count} lines)`);
      }
    });
    // A cause must show where it was seen, and "ruled out" must show the figures it rests on.
    if (f.severity === 'critical' && !f.evidence.some((e) => e.rows || e.lines)) problems.push(`findings[${i}]: a critical finding without the rows or lines that support it`);
    if (/^ruled out\b/i.test(f.title) && !f.evidence.some((e) => e.rows || e.lines)) problems.push(`findings[${i}]: "ruled out" without the figures it rests on`);
    if (f.severity === 'critical' && !(f.next && f.next.commands.length > 0 && f.next.remedy.length > 0)) {
      problems.push(`findings[${i}]: a critical finding without a next step (commands and remedy)`);
    }
  });
  const ranks = summary.findings.map((f) => SEVERITY_ORDER.indexOf(f.severity));
  if (ranks.some((r, i) => i > 0 && r < ranks[i - 1]!)) problems.push(`findings out of severity order: ${summary.findings.map((f) => f.severity).join(', ')}`);
  return problems;
}
