/**
 * Alert rules: which Alertmanager alerts start which investigations. One YAML file:
 *
 *   rules:
 *     - name: pod-disk-full                 # unique, lower-case; named in every plan and skip reason
 *       match: { severity: critical }       # label equality, all must hold
 *       matchRegex:                         # per label, all must hold; anchored at both ends like Alertmanager's
 *         alertname: "KubePersistentVolumeFillingUp|MountFailures"
 *       playbook: enospc                    # playbook name, checked against the loaded playbooks at start-up
 *       target: pod                         # pod | node | namespace | none (see below)
 *       labels: { namespace: namespace, pod: pod, node: node, instance: instance }   # optional: where the parts are
 *       params: { duration: 10s }           # playbook parameters: strings, numbers or booleans
 *       symptom: "{{ alertname }} on {{ namespace }}/{{ pod }}: {{ annotations.summary }}"   # optional
 *       onResolved: false                   # default false: resolved alerts start nothing
 *
 * Matching. Rules are tried in file order and the first that matches an alert wins. A rule matches when every
 * `match` label equals and every `matchRegex` regex matches the whole label value; as in Alertmanager, a missing
 * label counts as "", and a rule considers resolved alerts only with `onResolved: true`. A rule needs at least one
 * matcher (write `matchRegex: { alertname: ".+" }` for a deliberate catch-all). Regexes use JavaScript syntax
 * with the `u` flag, so RE2's `(?i)` prefix is not available; they are compiled when the file is read.
 *
 * Targets, taken from the alert's own labels (the `labels` map renames them, e.g. `namespace: exported_namespace`):
 *   pod        the namespace and pod labels → { pod: "namespace/pod" }
 *   node       the node label, else the host part of instance ("node-17:9100" → node-17) → { node }
 *   namespace  the namespace label → { namespace }
 *   none       no target: only for fleet-wide playbooks such as health-sweep
 * The result must pass the Target schema or the alert is skipped with the reason.
 *
 * Symptom. Plain text with `{{ labelName }}` and `{{ annotations.name }}` placeholders and nothing else: no
 * functions, no conditionals. Missing values become "", control characters in values become spaces, and the
 * result is cut to 2000 characters. Label text only ever reaches the target (validated) and this string.
 */
import { parse as parseYaml, type YAMLParseError } from 'yaml';
import { z } from 'zod';
import { LOWER_CASE_NAME, PlaybookName } from '../core/investigation.ts';
import type { Playbook } from '../playbooks/playbook.ts';
import { ParamName } from '../playbooks/schema.ts';

export const MAX_RULES = 500;
export const MAX_SYMPTOM = 2000;

export interface RuleProblem {
  path: string;
  message: string;
}

/** A rules file that cannot be used, with every problem found and where: start-up should stop on it. */
export class AlertRulesError extends Error {
  constructor(
    readonly source: string,
    readonly problems: RuleProblem[],
  ) {
    super(`invalid alert rules in ${source}:\n${problems.map((p) => `  ${p.path || '(file)'}: ${p.message}`).join('\n')}`);
  }
}

/** Prometheus' classic label-name grammar; the only one placeholders and the labels map accept. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LabelName = z.string().regex(LABEL_NAME, 'expected a label name such as "namespace"');
const LabelText = z
  .string({ error: 'expected a string (quote numbers and booleans in YAML)' })
  .max(1024, 'at most 1024 characters');

const RuleName = z.string().regex(LOWER_CASE_NAME, 'expected a lower-case rule name such as "pod-disk-full"');

const AnchoredRegex = LabelText.transform((src, ctx) => {
  try {
    // Compiling the bare source first rejects unbalanced text such as "a)|(b" that would escape the anchors.
    new RegExp(src, 'u');
    return new RegExp(`^(?:${src})$`, 'u');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid regex: ${(err as Error).message}` });
    return z.NEVER;
  }
});

const PLACEHOLDER = /\{\{\s*(annotations\.)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g;

const SymptomTemplate = z
  .string()
  .min(1)
  .max(MAX_SYMPTOM)
  .superRefine((text, ctx) => {
    const rest = text.replace(PLACEHOLDER, '');
    if (rest.includes('{{')) {
      ctx.addIssue({
        code: 'custom',
        message: 'only {{ labelName }} and {{ annotations.name }} placeholders are allowed',
      });
    }
  });

const ParamValue = z.union([z.string().max(1024), z.number(), z.boolean()], {
  error: 'expected a string, number or boolean',
});

export const RuleTargetKind = z.enum(['pod', 'node', 'namespace', 'none']);
export type RuleTargetKind = z.infer<typeof RuleTargetKind>;

const TargetLabels = z.strictObject({
  namespace: LabelName.default('namespace'),
  pod: LabelName.default('pod'),
  node: LabelName.default('node'),
  instance: LabelName.default('instance'),
});

export const AlertRule = z.strictObject({
  name: RuleName,
  match: z.record(LabelName, LabelText).default({}),
  matchRegex: z.record(LabelName, AnchoredRegex).default({}),
  playbook: PlaybookName,
  target: RuleTargetKind,
  labels: TargetLabels.prefault({}),
  params: z.record(ParamName, ParamValue).default({}),
  symptom: SymptomTemplate.optional(),
  onResolved: z.boolean().default(false),
});
export type AlertRule = z.infer<typeof AlertRule>;

export const AlertRules = z.strictObject({
  rules: z.array(AlertRule).max(MAX_RULES, `at most ${MAX_RULES} rules`),
});
export type AlertRules = z.infer<typeof AlertRules>;

const KNOWN_KEYS = {
  file: Object.keys(AlertRules.shape),
  rule: Object.keys(AlertRule.shape),
  labels: Object.keys(TargetLabels.shape),
} as const;

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, seg) => (typeof seg === 'number' ? `${out}[${seg}]` : out ? `${out}.${String(seg)}` : String(seg)), '');
}

function knownKeysAt(path: readonly PropertyKey[]): readonly string[] {
  if (path.length === 0) return KNOWN_KEYS.file;
  if (path.length === 2 && path[0] === 'rules') return KNOWN_KEYS.rule;
  if (path.length === 3 && path[0] === 'rules' && path[2] === 'labels') return KNOWN_KEYS.labels;
  return [];
}

function zodProblems(error: z.ZodError, keysAt: (path: readonly PropertyKey[]) => readonly string[] = knownKeysAt): RuleProblem[] {
  return error.issues.flatMap((i): RuleProblem[] => {
    if (i.code === 'unrecognized_keys') {
      const known = keysAt(i.path);
      const hint = known.length ? ` (expected one of: ${known.join(', ')})` : '';
      return i.keys.map((k) => ({ path: formatPath([...i.path, k]), message: `unknown key${hint}` }));
    }
    if (i.code === 'invalid_key') return [{ path: formatPath(i.path), message: i.issues[0]?.message ?? i.message }];
    return [{ path: formatPath(i.path), message: i.message }];
  });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks across rules, run on the raw document so they are reported even when some rule has other faults. */
function crossRuleProblems(raw: unknown): RuleProblem[] {
  if (!isPlainObject(raw) || !Array.isArray(raw.rules)) return [];
  const problems: RuleProblem[] = [];
  const seen = new Map<string, number>();
  raw.rules.forEach((rule: unknown, i) => {
    if (!isPlainObject(rule)) return;
    if (typeof rule.name === 'string') {
      const first = seen.get(rule.name);
      if (first !== undefined) problems.push({ path: `rules[${i}].name`, message: `"${rule.name}" is also the name of rules[${first}]` });
      else seen.set(rule.name, i);
    }
    const empty = (m: unknown) => m === undefined || (isPlainObject(m) && Object.keys(m).length === 0);
    if (empty(rule.match) && empty(rule.matchRegex)) {
      problems.push({ path: `rules[${i}].match`, message: 'give at least one matcher in match or matchRegex' });
    }
  });
  return problems;
}

/** YAML text → validated rules, or an AlertRulesError listing every problem with its path. */
export function parseAlertRules(yamlText: string, source: string): AlertRules {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText, { prettyErrors: true });
  } catch (err) {
    const e = err as YAMLParseError;
    const line = e.linePos?.[0]?.line;
    throw new AlertRulesError(source, [{ path: line ? `line ${line}` : '', message: e.message.split('\n')[0] ?? 'invalid YAML' }]);
  }
  const parsed = AlertRules.safeParse(raw);
  const problems = [...(parsed.success ? [] : zodProblems(parsed.error)), ...crossRuleProblems(raw)];
  if (problems.length || !parsed.success) throw new AlertRulesError(source, problems);
  return parsed.data;
}

/**
 * Rules checked against the loaded playbooks: each names one, its params pass that playbook's parameter schema,
 * and a rule without a target names a fleet-wide playbook. Meant for start-up, so a typo fails there and not on
 * every alert.
 */
export function checkRulesAgainstPlaybooks(
  rules: AlertRules,
  playbooks: readonly Pick<Playbook, 'name' | 'fleetWide' | 'params'>[],
  source: string,
): void {
  const byName = new Map(playbooks.map((p) => [p.name, p]));
  const problems: RuleProblem[] = [];
  rules.rules.forEach((rule, i) => {
    const p = byName.get(rule.playbook);
    if (!p) {
      problems.push({ path: `rules[${i}].playbook`, message: `no playbook "${rule.playbook}"; known: ${[...byName.keys()].sort().join(', ')}` });
      return;
    }
    if (rule.target === 'none' && !p.fleetWide) {
      problems.push({ path: `rules[${i}].target`, message: `playbook "${p.name}" is not fleet-wide, so it needs a target` });
    }
    const params = p.params.safeParse(rule.params);
    if (!params.success) {
      for (const issue of zodProblems(params.error, () => [])) {
        problems.push({ path: `rules[${i}].params${issue.path ? `.${issue.path}` : ''}`, message: issue.message });
      }
    }
  });
  if (problems.length) throw new AlertRulesError(source, problems);
}

/** A label's value, or undefined when absent or empty (Prometheus treats the two alike). */
export function labelValue(map: Readonly<Record<string, string>>, name: string): string | undefined {
  const v = Object.hasOwn(map, name) ? map[name] : undefined;
  return v === undefined || v === '' ? undefined : v;
}

/** Whether a rule's matchers all hold for an alert's labels (status is the caller's concern). */
export function ruleMatches(rule: Pick<AlertRule, 'match' | 'matchRegex'>, labels: Readonly<Record<string, string>>): boolean {
  return (
    Object.entries(rule.match).every(([name, want]) => (labelValue(labels, name) ?? '') === want) &&
    Object.entries(rule.matchRegex).every(([name, re]) => re.test(labelValue(labels, name) ?? ''))
  );
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what is being removed
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Fills a symptom template from an alert; plain text, at most MAX_SYMPTOM characters. */
export function renderSymptom(
  template: string,
  alert: { labels: Readonly<Record<string, string>>; annotations: Readonly<Record<string, string>> },
): string {
  const text = template
    .replace(PLACEHOLDER, (_m, annotation: string | undefined, name: string) =>
      (labelValue(annotation ? alert.annotations : alert.labels, name) ?? '').replace(CONTROL, ' '),
    )
    .trim();
  if (text.length <= MAX_SYMPTOM) return text;
  let cut = text.slice(0, MAX_SYMPTOM - 1);
  // Never leave half of a surrogate pair at the end.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}
