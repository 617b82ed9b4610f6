import { createHash } from 'node:crypto';

/**
 * The identity of one alert occurrence as one route sees it. Deliveries are at-least-once and both replicas of an
 * HA Alertmanager pair may send the same notification, so repeats must give the same key; a re-fired alert gets a
 * new startsAt and therefore a new key. startsAt is used as sent (Alertmanager forwards Prometheus' value
 * unchanged, so replicas agree on the text), not reformatted, so no precision is lost.
 */
export function alertDedupeKey(groupKey: string, alert: { fingerprint: string; startsAt: string }): string {
  return createHash('sha256').update(`${groupKey}\n${alert.fingerprint}\n${alert.startsAt}`).digest('hex');
}
