import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AlertmanagerPayload, MAX_ALERTS } from '../../src/alerts/payload.ts';

const raw = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../fixtures/alertmanager/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

/** The issues of a payload that must not parse, as "path: message". */
function problems(body: unknown): string[] {
  const r = AlertmanagerPayload.safeParse(body);
  if (r.success) throw new Error('expected the payload to be rejected');
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const firstAlert = (body: Record<string, unknown>): Record<string, unknown> => {
  const alerts = body.alerts as Record<string, unknown>[];
  return alerts[0] as Record<string, unknown>;
};

describe('AlertmanagerPayload', () => {
  it('parses the firing fixture with every documented field', () => {
    const p = AlertmanagerPayload.parse(raw('firing.json'));
    expect(p.version).toBe('4');
    expect(p.groupKey).toBe('{}/{severity="critical"}:{alertname="KubePersistentVolumeFillingUp", namespace="shop"}');
    expect(p.truncatedAlerts).toBe(0);
    expect(p.status).toBe('firing');
    expect(p.receiver).toBe('tracehound');
    expect(p.groupLabels).toEqual({ alertname: 'KubePersistentVolumeFillingUp', namespace: 'shop' });
    expect(p.commonLabels.pod).toBe('cart-0');
    expect(p.commonAnnotations.summary).toBe('PersistentVolume is filling up.');
    expect(p.externalURL).toBe('http://alertmanager.monitoring.svc:9093');
    expect(p.alerts).toHaveLength(1);
    const a = p.alerts[0];
    expect(a?.status).toBe('firing');
    expect(a?.fingerprint).toBe('5e0b8f3c9a1d7e24');
    expect(a?.startsAt).toBe('2025-03-14T09:41:27.318765432Z');
    expect(a?.endsAt).toBe('0001-01-01T00:00:00Z');
    expect(a?.labels).toMatchObject({ alertname: 'KubePersistentVolumeFillingUp', namespace: 'shop', pod: 'cart-0', node: 'node-17' });
    expect(a?.generatorURL).toContain('&g0.tab=1');
  });

  it('parses the resolved fixture: same alert, resolved, with endsAt', () => {
    const p = AlertmanagerPayload.parse(raw('resolved.json'));
    expect(p.status).toBe('resolved');
    expect(p.alerts.map((a) => [a.status, a.fingerprint, a.startsAt, a.endsAt])).toEqual([
      ['resolved', '5e0b8f3c9a1d7e24', '2025-03-14T09:41:27.318765432Z', '2025-03-14T10:07:42.902113507Z'],
    ]);
  });

  it('parses the grouped fixture with mixed statuses', () => {
    const p = AlertmanagerPayload.parse(raw('grouped.json'));
    expect(p.status).toBe('firing');
    expect(p.alerts.map((a) => `${a.labels.alertname}:${a.status}`)).toEqual([
      'MountFailures:firing',
      'KubePersistentVolumeFillingUp:firing',
      'MountFailures:resolved',
      'NodeFilesystemAlmostFull:firing',
    ]);
    expect(p.commonAnnotations).toEqual({});
  });

  it('parses the HA duplicate and the node fixture', () => {
    expect(AlertmanagerPayload.parse(raw('ha-duplicate.json'))).toEqual(AlertmanagerPayload.parse(raw('firing.json')));
    expect(AlertmanagerPayload.parse(raw('node-firing.json')).alerts[0]?.labels.instance).toBe('node-17:9100');
  });

  it('keeps fields Alertmanager may add', () => {
    const body = raw('firing.json');
    body.orgId = 1;
    firstAlert(body).silenceURL = 'http://alertmanager/#/silences/new';
    const p = AlertmanagerPayload.parse(body);
    expect(p.orgId).toBe(1);
    expect(p.alerts[0]?.silenceURL).toBe('http://alertmanager/#/silences/new');
  });

  it('defaults truncatedAlerts to 0 when an older Alertmanager leaves it out', () => {
    const body = raw('firing.json');
    delete body.truncatedAlerts;
    expect(AlertmanagerPayload.parse(body).truncatedAlerts).toBe(0);
  });

  it.each([
    ['3', 'version: unsupported webhook version "3": only Alertmanager webhook version "4" is understood'],
    [4, 'version: unsupported webhook version 4: only Alertmanager webhook version "4" is understood'],
    [undefined, 'version: missing "version": expected "4" (Prometheus Alertmanager webhook format)'],
  ])('rejects version %j with a clear message', (version, message) => {
    const body = raw('firing.json');
    body.version = version;
    expect(problems(body)).toEqual([message]);
  });

  it.each(['groupKey', 'status', 'receiver', 'groupLabels', 'commonLabels', 'commonAnnotations', 'externalURL', 'alerts'])(
    'rejects a payload without %s',
    (field) => {
      const body = raw('firing.json');
      delete body[field];
      expect(problems(body)).toHaveLength(1);
      expect(problems(body)[0]).toMatch(new RegExp(`^${field}: `));
    },
  );

  it.each(['status', 'labels', 'annotations', 'startsAt', 'endsAt', 'generatorURL', 'fingerprint'])('rejects an alert without %s', (field) => {
    const body = raw('firing.json');
    delete firstAlert(body)[field];
    expect(problems(body)).toHaveLength(1);
    expect(problems(body)[0]).toMatch(new RegExp(`^alerts\\.0\\.${field}: `));
  });

  it('rejects wrong types and formats in the fields planning relies on', () => {
    const body = raw('firing.json');
    const a = firstAlert(body);
    a.status = 'pending';
    a.startsAt = '2025-03-14 09:41:27';
    a.fingerprint = 'not-hex';
    (a.labels as Record<string, unknown>).pod = 42;
    expect(problems(body)).toEqual([
      'alerts.0.status: Invalid option: expected one of "firing"|"resolved"',
      'alerts.0.labels.pod: Invalid input: expected string, received number',
      'alerts.0.startsAt: expected an RFC 3339 time such as "2024-05-01T09:52:26.739Z"',
      'alerts.0.fingerprint: expected the hex fingerprint Alertmanager computes, such as "1a30ba71cca2921f"',
    ]);
  });

  it('bounds label values and the number of alerts', () => {
    const body = raw('firing.json');
    (firstAlert(body).labels as Record<string, string>).pod = 'p'.repeat(1025);
    expect(problems(body)).toEqual(['alerts.0.labels.pod: label values are at most 1024 characters']);

    const many = raw('firing.json');
    many.alerts = Array.from({ length: MAX_ALERTS + 1 }, () => firstAlert(raw('firing.json')));
    expect(problems(many)).toEqual([`alerts: at most ${MAX_ALERTS} alerts per notification (set max_alerts on the receiver)`]);
  });
});
