import { describe, expect, it } from 'vitest';
import { readSourceFiles } from '../helpers/source-files.ts';
import { INVESTIGATION_ID, INVESTIGATION_ID_PART, InvestigationId, newInvestigationId } from '../../src/core/ids.ts';
import { LOWER_CASE_NAME, PlaybookName, StepId, ToolName } from '../../src/core/investigation.ts';
import { ParamName } from '../../src/playbooks/schema.ts';
import { DNS_LABEL, DNS_SUBDOMAIN, QosClass } from '../../src/core/target.ts';
import { LABEL_KEY, LABEL_VALUE } from '../../src/inventory/label-selector.ts';
import { SCHEDULE_NAME } from '../../src/schedules/schedule.ts';

/**
 * Issue #12 item 5: a rule (a pattern, a set of values) has one home and is imported everywhere else. The sources
 * are read as text, so a copy pasted into any file — whatever it is called there — fails this test.
 */

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs|bt)$/;


const files = readSourceFiles(SOURCE);

const filesMatching = (re: RegExp) => [...files].filter(([, text]) => re.test(text)).map(([path]) => path);

const escape = (literal: string) => literal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Each rule: where it lives, and how a copy of it is recognised. `copy` is the pattern's text (as a regex literal or
 * a string: `/` may be escaped or not) or, for value sets, the values in sequence.
 */
const RULES: { rule: string; home: string; copy: RegExp }[] = [
  { rule: 'investigation id', home: 'src/core/ids.ts', copy: /inv_\[[^\]]*\]\{26\}/ },
  { rule: 'playbook, step, tool and alert-rule names', home: 'src/core/investigation.ts', copy: new RegExp(escape('[a-z][a-z0-9-]{0,62}')) },
  { rule: 'DNS-1123 label (namespaces, container names)', home: 'src/core/target.ts', copy: new RegExp(escape('[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?')) },
  { rule: 'DNS-1123 subdomain (node and pod names)', home: 'src/core/target.ts', copy: new RegExp(escape('[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?')) },
  { rule: 'QoS classes', home: 'src/core/target.ts', copy: /Guaranteed['"`]?\s*[,|]\s*['"`]?Burstable/ },
  { rule: 'schedule names', home: 'src/schedules/schedule.ts', copy: new RegExp(escape('[a-z0-9][a-z0-9-]{0,62}')) },
  { rule: 'playbook parameter names', home: 'src/playbooks/schema.ts', copy: new RegExp(escape('[a-z][a-zA-Z0-9]{0,31}')) },
  { rule: 'Kubernetes label names and values', home: 'src/inventory/label-selector.ts', copy: new RegExp(escape('[-A-Za-z0-9_.]')) },
  { rule: 'label key prefix (RFC 1123 subdomain)', home: 'src/inventory/label-selector.ts', copy: new RegExp(escape('[a-z0-9]([-a-z0-9]*[a-z0-9])?')) },
];

/** Schemas and types with one definition; a second `const X =` / `type X =` anywhere is a second home. */
const DEFINED_ONCE: Record<string, string> = {
  InvestigationId: 'src/core/ids.ts',
  PlaybookName: 'src/core/investigation.ts',
  StepId: 'src/core/investigation.ts',
  ToolName: 'src/core/investigation.ts',
  NodeName: 'src/core/target.ts',
  NamespaceName: 'src/core/target.ts',
  QosClass: 'src/core/target.ts',
  PodRef: 'src/core/target.ts',
  ScheduleName: 'src/schedules/schedule.ts',
  ParamName: 'src/playbooks/schema.ts',
  LabelKey: 'src/inventory/label-selector.ts',
  LabelValue: 'src/inventory/label-selector.ts',
};

describe('one home for each rule', () => {
  it('reads the whole tree (the scan cannot pass by seeing nothing)', () => {
    expect(files.size).toBeGreaterThan(100);
    for (const path of ['src/core/ids.ts', 'src/core/target.ts', 'workers/node-agent/pod-cgroups.ts', 'src/api/openapi.ts']) {
      expect(files.has(path), path).toBe(true);
    }
  });

  it.each(RULES)('$rule is written only in $home', ({ home, copy }) => {
    expect(filesMatching(copy)).toEqual([home]);
  });

  it.each(Object.entries(DEFINED_ONCE))('%s is defined only in %s', (name, home) => {
    expect(filesMatching(new RegExp(String.raw`\b(?:const|let|var|type|interface|class|enum|function)\s+${name}\b`))).toEqual([home]);
  });

  it('recognises a copy however it is spelt (the detectors are not vacuous)', () => {
    const detects = (rule: string, text: string) => RULES.find((r) => r.rule === rule)!.copy.test(text);
    expect(detects('investigation id', String.raw`/^\/v1\/investigations\/inv_[0-9a-z]{26}\/report$/`)).toBe(true);
    expect(detects('investigation id', "pattern: '^inv_[a-z0-9]{26}$'")).toBe(true);
    expect(detects('QoS classes', "type Q = 'Guaranteed' | 'Burstable' | 'BestEffort';")).toBe(true);
    expect(detects('QoS classes', "z.enum(['Guaranteed', 'Burstable', 'BestEffort'])")).toBe(true);
    expect(detects('QoS classes', '// Burstable and BestEffort get a tier; Guaranteed pods sit in the root')).toBe(false);
    expect(detects('playbook, step, tool and alert-rule names', 'z.string().regex(/^[a-z][a-z0-9-]{0,62}$/)')).toBe(true);
    expect(detects('schedule names', 'z.string().regex(/^[a-z][a-z0-9-]{0,62}$/)')).toBe(false);
  });
});

describe('the shared rules, from their homes', () => {
  it('investigation ids: what newInvestigationId makes, and nothing longer, shorter or upper-case', () => {
    const id = newInvestigationId();
    expect(id).toMatch(INVESTIGATION_ID);
    expect(InvestigationId.parse(id)).toBe(id);
    expect(new RegExp(INVESTIGATION_ID_PART).exec(`see ${id}.`)?.[0]).toBe(id);
    for (const bad of [`${id}0`, id.slice(0, -1), id.toUpperCase(), `x${id}`]) expect(INVESTIGATION_ID.test(bad), bad).toBe(false);
  });

  it('lower-case names: one pattern, four concepts', () => {
    for (const schema of [PlaybookName, StepId, ToolName]) {
      expect(schema.safeParse('enospc').success).toBe(true);
      expect(schema.safeParse('a'.repeat(63)).success).toBe(true);
      for (const bad of ['a'.repeat(64), '9lives', 'Enospc', 'en_ospc', '']) expect(schema.safeParse(bad).success, bad).toBe(false);
    }
    expect(LOWER_CASE_NAME.test('pod-disk-full')).toBe(true);
  });

  it('schedule names may start with a digit; playbook parameter names are camelCase', () => {
    expect(SCHEDULE_NAME.test('2am-sweep')).toBe(true);
    expect(SCHEDULE_NAME.test('-sweep')).toBe(false);
    expect(ParamName.safeParse('minFreeBytes').success).toBe(true);
    expect(ParamName.safeParse('min-free').success).toBe(false);
  });

  it('DNS-1123 labels and subdomains', () => {
    expect(DNS_LABEL.test('kube-system')).toBe(true);
    expect(DNS_LABEL.test('a'.repeat(64))).toBe(false);
    expect(DNS_LABEL.test('a.b')).toBe(false);
    expect(DNS_SUBDOMAIN.test('node-17.example.com')).toBe(true);
    expect(DNS_SUBDOMAIN.test('a'.repeat(254))).toBe(false);
    expect(DNS_SUBDOMAIN.test('Node')).toBe(false);
  });

  it('QoS classes are the three Kubernetes has', () => {
    expect(QosClass.options).toEqual(['Guaranteed', 'Burstable', 'BestEffort']);
  });

  it('label keys and values', () => {
    expect(LABEL_KEY.test('example.com/rack')).toBe(true);
    expect(LABEL_VALUE.test('')).toBe(true);
    expect(LABEL_VALUE.test('-x')).toBe(false);
  });
});
