import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AlertRulesError,
  checkRulesAgainstPlaybooks,
  parseAlertRules,
  renderSymptom,
  ruleMatches,
  type RuleProblem,
} from '../../src/alerts/rules.ts';
import type { Playbook } from '../../src/playbooks/playbook.ts';
import { loadPlaybooks } from '../../src/playbooks/load.ts';

const EXAMPLE = readFileSync(new URL('../fixtures/alertmanager/rules.yaml', import.meta.url), 'utf8');

/** The problems parseAlertRules reports for a text that must be rejected. */
function problemsOf(yamlText: string): RuleProblem[] {
  try {
    parseAlertRules(yamlText, 'rules.yaml');
  } catch (err) {
    if (err instanceof AlertRulesError) return err.problems;
    throw err;
  }
  throw new Error('expected the rules to be rejected');
}

const rule = (extra: string) => `rules:\n  - name: r1\n    playbook: enospc\n    target: pod\n${extra}`;

describe('parseAlertRules', () => {
  it('reads the example file with defaults filled in', () => {
    const { rules } = parseAlertRules(EXAMPLE, 'rules.yaml');
    expect(rules.map((r) => [r.name, r.playbook, r.target, r.params, r.onResolved])).toEqual([
      ['pod-disk-full', 'enospc', 'pod', { duration: '10s' }, false],
      ['node-cpu', 'cpu-profile', 'node', { duration: '5s' }, false],
      ['node-health', 'health-sweep', 'none', {}, false],
    ]);
    const [disk, cpu] = rules;
    expect(disk?.labels).toEqual({ namespace: 'namespace', pod: 'pod', node: 'node', instance: 'instance' });
    expect(disk?.match).toEqual({});
    expect(disk?.matchRegex.alertname?.source).toBe('^(?:KubePersistentVolumeFillingUp|MountFailures)$');
    expect(disk?.symptom).toBe('{{ alertname }} on {{ namespace }}/{{ pod }}: {{ annotations.summary }}');
    expect(cpu?.match).toEqual({ alertname: 'NodeHighCPU' });
  });

  it('anchors regexes at both ends', () => {
    const [r] = parseAlertRules(rule('    matchRegex: { namespace: "shop|cart" }\n'), 'x').rules;
    if (!r) throw new Error('no rule');
    expect(ruleMatches(r, { namespace: 'shop' })).toBe(true);
    expect(ruleMatches(r, { namespace: 'cart' })).toBe(true);
    expect(ruleMatches(r, { namespace: 'shopping' })).toBe(false);
    expect(ruleMatches(r, { namespace: 'my-cart' })).toBe(false);
    expect(ruleMatches(r, {})).toBe(false);
  });

  it('treats a missing label as "" and never reads inherited properties', () => {
    const [r] = parseAlertRules(rule('    match: { alertname: X, team: "" }\n    matchRegex: { toString: ".*" }\n'), 'x').rules;
    if (!r) throw new Error('no rule');
    expect(ruleMatches(r, { alertname: 'X' })).toBe(true);
    expect(ruleMatches(r, { alertname: 'X', team: 'db' })).toBe(false);
    expect(ruleMatches(r, { alertname: 'Y' })).toBe(false);
  });

  it('reports a regex that does not compile, and one that would escape the anchors', () => {
    expect(problemsOf(rule('    matchRegex: { namespace: "shop(", pod: "a)|(b" }\n'))).toEqual([
      // The rest of each message is V8's own wording.
      { path: 'rules[0].matchRegex.namespace', message: expect.stringMatching(/^invalid regex: .*\/shop\(\/u/) },
      { path: 'rules[0].matchRegex.pod', message: expect.stringMatching(/^invalid regex: .*\/a\)\|\(b\/u/) },
    ]);
  });

  it('reports duplicate rule names', () => {
    const text = `rules:
  - { name: same, match: { alertname: A }, playbook: enospc, target: pod }
  - { name: other, match: { alertname: B }, playbook: enospc, target: pod }
  - { name: same, match: { alertname: C }, playbook: enospc, target: pod }
`;
    expect(problemsOf(text)).toEqual([{ path: 'rules[2].name', message: '"same" is also the name of rules[0]' }]);
  });

  it('reports a bad playbook name', () => {
    expect(problemsOf('rules:\n  - { name: r1, match: { alertname: A }, playbook: Enospc_1, target: pod }\n')).toEqual([
      { path: 'rules[0].playbook', message: 'expected a playbook name such as "enospc"' },
    ]);
  });

  it('reports unknown keys with the keys that are known', () => {
    const text = `rules:
  - name: r1
    mach: { alertname: A }
    match: { alertname: A }
    playbook: enospc
    target: pod
    labels: { namspace: kubernetes_namespace }
extra: true
`;
    expect(problemsOf(text)).toEqual([
      { path: 'rules[0].labels.namspace', message: 'unknown key (expected one of: namespace, pod, node, instance)' },
      { path: 'rules[0].mach', message: 'unknown key (expected one of: name, match, matchRegex, playbook, target, labels, params, symptom, onResolved)' },
      { path: 'extra', message: 'unknown key (expected one of: rules)' },
    ]);
  });

  it('lists every problem at once, with its path', () => {
    const text = `rules:
  - name: Bad Name
    match: { alertname: 500, "bad-label": x }
    playbook: enospc
    target: container
    params: { duration: [10s], Hz: 99 }
    symptom: "{{ alertname | upper }}"
    onResolved: "yes"
  - name: dup
    playbook: enospc
    target: none
  - name: dup
    match: { alertname: B }
    playbook: cpu-profile
    target: node
`;
    expect(problemsOf(text)).toEqual([
      { path: 'rules[0].name', message: 'expected a lower-case rule name such as "pod-disk-full"' },
      { path: 'rules[0].match.alertname', message: 'expected a string (quote numbers and booleans in YAML)' },
      { path: 'rules[0].match.bad-label', message: 'expected a label name such as "namespace"' },
      { path: 'rules[0].target', message: 'Invalid option: expected one of "pod"|"node"|"namespace"|"none"' },
      { path: 'rules[0].params.duration', message: 'expected a string, number or boolean' },
      { path: 'rules[0].params.Hz', message: 'expected a parameter name such as "duration"' },
      { path: 'rules[0].symptom', message: 'only {{ labelName }} and {{ annotations.name }} placeholders are allowed' },
      { path: 'rules[0].onResolved', message: 'Invalid input: expected boolean, received string' },
      { path: 'rules[1].match', message: 'give at least one matcher in match or matchRegex' },
      { path: 'rules[2].name', message: '"dup" is also the name of rules[1]' },
    ]);
  });

  it('says which file and where in the error message', () => {
    expect(() => parseAlertRules('rules:\n  - { name: r1, playbook: enospc, target: pod }\n', '/etc/tracehound/alert-rules.yaml')).toThrow(
      'invalid alert rules in /etc/tracehound/alert-rules.yaml:\n  rules[0].match: give at least one matcher in match or matchRegex',
    );
  });

  it('reports YAML syntax errors with the line', () => {
    expect(problemsOf('rules:\n  - name: a\n    name: b\n')).toEqual([{ path: 'line 3', message: 'Map keys must be unique at line 3, column 5:' }]);
  });

  it('rejects an empty document and a missing rules list', () => {
    expect(problemsOf('')).toEqual([{ path: '', message: 'Invalid input: expected object, received null' }]);
    expect(problemsOf('{}')).toEqual([{ path: 'rules', message: 'Invalid input: expected array, received undefined' }]);
  });
});

describe('renderSymptom', () => {
  const alert = {
    labels: { alertname: 'KubePodCrashLooping', pod: 'cart-0\nrm -rf /', namespace: 'shop' },
    annotations: { summary: 'Pod is crash looping.' },
  };

  it('fills label and annotation placeholders and nothing else', () => {
    expect(renderSymptom('{{alertname}}: {{ annotations.summary }} ({{ team }})', alert)).toBe('KubePodCrashLooping: Pod is crash looping. ()');
    expect(renderSymptom('{{ constructor }}{{ annotations.toString }}', alert)).toBe('');
  });

  it('turns control characters in values into spaces and does not re-expand values', () => {
    expect(renderSymptom('{{ pod }}', alert)).toBe('cart-0 rm -rf /');
    expect(renderSymptom('{{ x }}', { labels: { x: '{{ alertname }}' }, annotations: {} })).toBe('{{ alertname }}');
  });

  it('cuts the result to 2000 characters', () => {
    const long = renderSymptom('{{ annotations.description }}', { labels: {}, annotations: { description: 'x'.repeat(5000) } });
    expect(long).toHaveLength(2000);
    expect(long.endsWith('x…')).toBe(true);
  });
});

describe('checkRulesAgainstPlaybooks', () => {
  let playbooks: Playbook[] = [];
  beforeAll(async () => {
    playbooks = await loadPlaybooks();
  });

  it('accepts the example rules', () => {
    expect(() => checkRulesAgainstPlaybooks(parseAlertRules(EXAMPLE, 'rules.yaml'), playbooks, 'rules.yaml')).not.toThrow();
  });

  it('reports unknown playbooks, bad params and a missing target for a non-fleet-wide playbook', () => {
    const rules = parseAlertRules(
      `rules:
  - { name: a, match: { alertname: A }, playbook: nope, target: pod }
  - { name: b, match: { alertname: B }, playbook: enospc, target: pod, params: { duration: 500s, colour: red } }
  - { name: c, match: { alertname: C }, playbook: cpu-profile, target: none }
`,
      'rules.yaml',
    );
    try {
      checkRulesAgainstPlaybooks(rules, playbooks, 'rules.yaml');
      throw new Error('expected a rejection');
    } catch (err) {
      if (!(err instanceof AlertRulesError)) throw err;
      const names = playbooks.map((p) => p.name).sort().join(', ');
      expect(err.problems).toEqual([
        { path: 'rules[0].playbook', message: `no playbook "nope"; known: ${names}` },
        { path: 'rules[1].params.duration', message: 'must be between 1s and 2m' },
        { path: 'rules[1].params.colour', message: 'unknown key' },
        { path: 'rules[2].target', message: 'playbook "cpu-profile" is not fleet-wide, so it needs a target' },
      ]);
    }
  });
});
