import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertDedupeKey } from '../../src/alerts/dedupe.ts';
import { AlertmanagerPayload } from '../../src/alerts/payload.ts';
import { instanceHost, planInvestigations, type PlannedInvestigation } from '../../src/alerts/plan.ts';
import { parseAlertRules } from '../../src/alerts/rules.ts';

const fixture = (name: string): AlertmanagerPayload =>
  AlertmanagerPayload.parse(JSON.parse(readFileSync(new URL(`../fixtures/alertmanager/${name}`, import.meta.url), 'utf8')));
const RULES = parseAlertRules(readFileSync(new URL('../fixtures/alertmanager/rules.yaml', import.meta.url), 'utf8'), 'rules.yaml');

const FIRING_KEY = createHash('sha256')
  .update('{}/{severity="critical"}:{alertname="KubePersistentVolumeFillingUp", namespace="shop"}\n5e0b8f3c9a1d7e24\n2025-03-14T09:41:27.318765432Z')
  .digest('hex');

/** firing.json with its one alert changed. */
function withAlert(change: (alert: AlertmanagerPayload['alerts'][number]) => void): AlertmanagerPayload {
  const p = fixture('firing.json');
  const alert = p.alerts[0];
  if (!alert) throw new Error('fixture has no alert');
  change(alert);
  return p;
}

describe('alertDedupeKey', () => {
  it('is the sha256 of groupKey, fingerprint and startsAt', () => {
    const p = fixture('firing.json');
    expect(alertDedupeKey(p.groupKey, { fingerprint: '5e0b8f3c9a1d7e24', startsAt: '2025-03-14T09:41:27.318765432Z' })).toBe(FIRING_KEY);
    expect(FIRING_KEY).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differs for another group, another alert or another occurrence', () => {
    const base = { fingerprint: '5e0b8f3c9a1d7e24', startsAt: '2025-03-14T09:41:27.318765432Z' };
    const keys = new Set([
      alertDedupeKey('g1', base),
      alertDedupeKey('g2', base),
      alertDedupeKey('g1', { ...base, fingerprint: '5e0b8f3c9a1d7e25' }),
      alertDedupeKey('g1', { ...base, startsAt: '2025-03-14T12:00:00Z' }),
    ]);
    expect(keys.size).toBe(4);
  });
});

describe('planInvestigations', () => {
  it('plans one enospc investigation on the pod of a firing alert', () => {
    expect(planInvestigations(fixture('firing.json'), RULES)).toEqual({
      planned: [
        {
          rule: 'pod-disk-full',
          alert: {
            fingerprint: '5e0b8f3c9a1d7e24',
            alertname: 'KubePersistentVolumeFillingUp',
            status: 'firing',
            startsAt: '2025-03-14T09:41:27.318765432Z',
            labels: fixture('firing.json').alerts[0]?.labels,
          },
          dedupeKey: FIRING_KEY,
          request: {
            playbook: 'enospc',
            target: { pod: 'shop/cart-0' },
            params: { duration: '10s' },
            symptom: 'KubePersistentVolumeFillingUp on shop/cart-0: PersistentVolume is filling up.',
          },
        },
      ],
      skipped: [],
    });
  });

  it('skips a resolved alert', () => {
    expect(planInvestigations(fixture('resolved.json'), RULES)).toEqual({
      planned: [],
      skipped: [
        {
          fingerprint: '5e0b8f3c9a1d7e24',
          alertname: 'KubePersistentVolumeFillingUp',
          reason: 'resolved: rule "pod-disk-full" starts investigations for firing alerts only',
        },
      ],
    });
  });

  it('plans a resolved alert with a rule that asks for it, skipping earlier rules that do not', () => {
    const rules = parseAlertRules(
      `rules:
  - { name: disk, match: { alertname: KubePersistentVolumeFillingUp }, playbook: enospc, target: pod }
  - { name: disk-after, match: { alertname: KubePersistentVolumeFillingUp }, playbook: health-sweep, target: none, onResolved: true }
`,
      'x',
    );
    const plan = planInvestigations(fixture('resolved.json'), rules);
    expect(plan.skipped).toEqual([]);
    expect(plan.planned.map((p) => [p.rule, p.alert.status, p.request])).toEqual([['disk-after', 'resolved', { playbook: 'health-sweep', params: {} }]]);
    // The occurrence is the same one that fired: the key ties the two together.
    expect(plan.planned[0]?.dedupeKey).toBe(FIRING_KEY);
  });

  it('considers each alert of a group on its own status', () => {
    const plan = planInvestigations(fixture('grouped.json'), RULES);
    expect(plan.planned.map((p) => [p.rule, p.alert.fingerprint, p.request.target, p.request.symptom])).toEqual([
      ['pod-disk-full', 'a3f1c07e5b92d846', { pod: 'shop/cart-1' }, 'MountFailures on shop/cart-1: Volume mounts are failing.'],
      ['pod-disk-full', '0c7d2e91f4a8b356', { pod: 'shop/orders-0' }, 'KubePersistentVolumeFillingUp on shop/orders-0: PersistentVolume is filling up.'],
    ]);
    expect(plan.skipped).toEqual([
      {
        fingerprint: 'e81b6a2d09c4f7a3',
        alertname: 'MountFailures',
        reason: 'resolved: rule "pod-disk-full" starts investigations for firing alerts only',
      },
      { fingerprint: '7b5e04d1c39a6f82', alertname: 'NodeFilesystemAlmostFull', reason: 'no rule matches' },
    ]);
    const groupKey = '{}/{severity="critical"}:{cluster="prod-eu-1"}';
    expect(plan.planned.map((p) => p.dedupeKey)).toEqual([
      alertDedupeKey(groupKey, { fingerprint: 'a3f1c07e5b92d846', startsAt: '2025-03-14T09:44:02.117203988Z' }),
      alertDedupeKey(groupKey, { fingerprint: '0c7d2e91f4a8b356', startsAt: '2025-03-14T09:45:57.530011846Z' }),
    ]);
  });

  it('gives the HA duplicate the same dedupe key as the original', () => {
    const a = planInvestigations(fixture('firing.json'), RULES);
    const b = planInvestigations(fixture('ha-duplicate.json'), RULES);
    expect(b.planned.map((p) => p.dedupeKey)).toEqual([FIRING_KEY]);
    expect(b).toEqual(a);
  });

  it('keys on the occurrence only, not on fields a replica may send differently', () => {
    const p = fixture('firing.json');
    p.externalURL = 'http://alertmanager-main-1.alertmanager-operated.monitoring.svc:9093';
    p.receiver = 'tracehound-replica';
    expect(planInvestigations(p, RULES).planned[0]?.dedupeKey).toBe(FIRING_KEY);
  });

  it('gives a re-fired alert (new startsAt) a new key', () => {
    const refired = withAlert((a) => {
      a.startsAt = '2025-03-14T14:02:11.004417233Z';
    });
    const key = planInvestigations(refired, RULES).planned[0]?.dedupeKey;
    expect(key).toBe(alertDedupeKey(refired.groupKey, { fingerprint: '5e0b8f3c9a1d7e24', startsAt: '2025-03-14T14:02:11.004417233Z' }));
    expect(key).not.toBe(FIRING_KEY);
  });

  it('plans the same fingerprint once per payload', () => {
    const p = fixture('firing.json');
    const alert = p.alerts[0];
    if (!alert) throw new Error('fixture has no alert');
    p.alerts.push(structuredClone(alert));
    const plan = planInvestigations(p, RULES);
    expect(plan.planned.map((x) => x.dedupeKey)).toEqual([FIRING_KEY]);
    expect(plan.skipped).toEqual([
      {
        fingerprint: '5e0b8f3c9a1d7e24',
        alertname: 'KubePersistentVolumeFillingUp',
        reason: 'duplicate: an alert with this fingerprint came earlier in the same notification',
      },
    ]);
  });

  it('skips an alert without the pod label its rule needs', () => {
    const p = withAlert((a) => {
      delete a.labels.pod;
    });
    expect(planInvestigations(p, RULES)).toEqual({
      planned: [],
      skipped: [
        {
          fingerprint: '5e0b8f3c9a1d7e24',
          alertname: 'KubePersistentVolumeFillingUp',
          reason: 'rule "pod-disk-full" targets a pod but the alert has no "pod" label',
        },
      ],
    });
  });

  it('skips an alert whose labels make an invalid target', () => {
    const p = withAlert((a) => {
      a.labels.pod = 'Cart_0';
    });
    expect(planInvestigations(p, RULES).skipped.map((s) => s.reason)).toEqual([
      'rule "pod-disk-full": target pod "shop/Cart_0" is not valid: pod: expected "namespace/name"',
    ]);
  });

  it('takes a node target from the host of instance when there is no node label', () => {
    const plan = planInvestigations(fixture('node-firing.json'), RULES);
    expect(plan.skipped).toEqual([]);
    expect(plan.planned.map((p) => [p.rule, p.request])).toEqual([
      [
        'node-cpu',
        {
          playbook: 'cpu-profile',
          target: { node: 'node-17' },
          params: { duration: '5s' },
          symptom: 'NodeHighCPU on node-17:9100: Node CPU usage is high.',
        },
      ],
    ]);
  });

  it('prefers the node label over instance, and skips when neither names a node', () => {
    const p = fixture('node-firing.json');
    const alert = p.alerts[0];
    if (!alert) throw new Error('fixture has no alert');
    alert.labels.node = 'node-03';
    expect(planInvestigations(p, RULES).planned[0]?.request.target).toEqual({ node: 'node-03' });

    delete alert.labels.node;
    alert.labels.instance = 'https://node-17.example.org/metrics';
    expect(planInvestigations(p, RULES).skipped.map((s) => s.reason)).toEqual([
      'rule "node-cpu" targets a node but the alert has no "node" label and its "instance" label "https://node-17.example.org/metrics" names no host',
    ]);

    delete alert.labels.instance;
    expect(planInvestigations(p, RULES).skipped.map((s) => s.reason)).toEqual([
      'rule "node-cpu" targets a node but the alert has no "node" or "instance" label',
    ]);
  });

  it('plans a fleet-wide playbook without a target', () => {
    const p = withAlert((a) => {
      a.labels = { alertname: 'NodeHealth', severity: 'warning' };
    });
    expect(planInvestigations(p, RULES).planned.map((x) => [x.rule, x.alert.labels, x.request])).toEqual([
      ['node-health', { alertname: 'NodeHealth', severity: 'warning' }, { playbook: 'health-sweep', params: {} }],
    ]);
  });

  it('reads target parts from the label names a rule gives, and builds namespace targets', () => {
    const rules = parseAlertRules(
      `rules:
  - name: ns
    match: { alertname: KubePersistentVolumeFillingUp }
    playbook: exec-storm
    target: namespace
    labels: { namespace: exported_namespace }
`,
      'x',
    );
    const p = withAlert((a) => {
      a.labels.exported_namespace = 'payments';
    });
    expect(planInvestigations(p, rules).planned[0]?.request.target).toEqual({ namespace: 'payments' });
  });

  it('gives each plan its own params object', () => {
    const plan = planInvestigations(fixture('grouped.json'), RULES);
    // Two plans from the same rule, which has params of its own: three objects that could be one.
    expect(plan.planned.map((p) => p.rule)).toEqual(['pod-disk-full', 'pod-disk-full']);
    const [a, b] = plan.planned as [PlannedInvestigation, PlannedInvestigation];
    expect(RULES.rules[0]).toMatchObject({ name: 'pod-disk-full', params: { duration: '10s' } });
    expect(a.request.params).not.toBe(b.request.params);
    expect(a.request.params).not.toBe(RULES.rules[0]!.params);
  });
});

describe('instanceHost', () => {
  it.each([
    ['node-17:9100', 'node-17'],
    ['node-17', 'node-17'],
    ['10.42.3.17:10250', '10.42.3.17'],
    ['[fd00::17]:9100', 'fd00::17'],
    ['https://node-17.example.org/metrics', undefined],
    ['node 17:9100', undefined],
  ])('%s → %s', (instance, host) => expect(instanceHost(instance)).toBe(host));
});
