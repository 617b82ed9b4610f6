/**
 * The body Prometheus Alertmanager POSTs to a `webhook_config` receiver, format version "4"
 * (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config; in Alertmanager's source the
 * `Message` of notify/webhook/webhook.go wrapping `Data` and `Alert` of template/template.go).
 *
 * Objects are loose because Alertmanager (and compatible senders such as Grafana or Mimir) add fields over time;
 * only the fields planning relies on are typed. The bounds keep one notification from costing unbounded work:
 * Alertmanager never sends more than `max_alerts` alerts and reports the rest in `truncatedAlerts`.
 */
import { z } from 'zod';

export const MAX_ALERTS = 1000;
export const MAX_LABELS = 256;
export const MAX_LABEL_VALUE = 1024;
export const MAX_ANNOTATION_VALUE = 16_384;

export const AlertStatus = z.enum(['firing', 'resolved']);
export type AlertStatus = z.infer<typeof AlertStatus>;

function boundedMap(what: string, maxValue: number) {
  return z
    .record(z.string().min(1).max(256), z.string().max(maxValue, `${what} values are at most ${maxValue} characters`))
    .refine((m) => Object.keys(m).length <= MAX_LABELS, `at most ${MAX_LABELS} ${what}s`);
}

/** Label names as Prometheus 3 allows them (any UTF-8), values bounded. */
export const LabelSet = boundedMap('label', MAX_LABEL_VALUE);
export type LabelSet = z.infer<typeof LabelSet>;
export const Annotations = boundedMap('annotation', MAX_ANNOTATION_VALUE);

/** Go's time.Time as encoding/json writes it: RFC 3339 with up to nanoseconds; "0001-01-01T00:00:00Z" is unset. */
const Rfc3339 = z.iso.datetime({ offset: true, error: 'expected an RFC 3339 time such as "2024-05-01T09:52:26.739Z"' });

export const Alert = z.looseObject({
  status: AlertStatus,
  labels: LabelSet,
  annotations: Annotations,
  startsAt: Rfc3339,
  endsAt: Rfc3339,
  generatorURL: z.string().max(16_384),
  /** model.Fingerprint.String(): 16 hex digits, stable for one label set. */
  fingerprint: z.string().regex(/^[0-9a-f]{1,64}$/i, 'expected the hex fingerprint Alertmanager computes, such as "1a30ba71cca2921f"'),
});
export type Alert = z.infer<typeof Alert>;

export const AlertmanagerPayload = z.looseObject({
  version: z.literal('4', {
    error: (iss) =>
      iss.input === undefined
        ? 'missing "version": expected "4" (Prometheus Alertmanager webhook format)'
        : `unsupported webhook version ${JSON.stringify(iss.input)}: only Alertmanager webhook version "4" is understood`,
  }),
  /** Identifies the alert group (route and group labels); the same on every HA replica. */
  groupKey: z.string().min(1).max(32_768),
  /** Alerts left out because of `max_alerts`; absent from Alertmanagers older than that setting. */
  truncatedAlerts: z.number().int().min(0).default(0),
  status: AlertStatus,
  receiver: z.string().max(1024),
  groupLabels: LabelSet,
  commonLabels: LabelSet,
  commonAnnotations: Annotations,
  externalURL: z.string().max(4096),
  alerts: z.array(Alert).max(MAX_ALERTS, `at most ${MAX_ALERTS} alerts per notification (set max_alerts on the receiver)`),
});
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayload>;
