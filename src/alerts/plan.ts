import { InvestigationRequest } from '../core/investigation.ts';
import { Target } from '../core/target.ts';
import { alertDedupeKey } from './dedupe.ts';
import type { Alert, AlertmanagerPayload, AlertStatus } from './payload.ts';
import { labelValue, renderSymptom, ruleMatches, type AlertRule, type AlertRules } from './rules.ts';

/** What to ask the investigation service for; a valid InvestigationRequest. */
export interface PlannedRequest {
  playbook: string;
  target?: Target;
  params: Record<string, unknown>;
  symptom?: string;
}

export interface PlannedInvestigation {
  /** Name of the rule that matched. */
  rule: string;
  alert: { fingerprint: string; alertname?: string; status: AlertStatus; startsAt: string; labels: Record<string, string> };
  /** Same for every delivery of this alert occurrence on this route: the caller stores it to drop repeats. */
  dedupeKey: string;
  request: PlannedRequest;
}

export interface SkippedAlert {
  fingerprint: string;
  alertname?: string;
  reason: string;
}

export interface InvestigationPlan {
  planned: PlannedInvestigation[];
  skipped: SkippedAlert[];
}

type TargetResult = { ok: true; target: Record<string, string> | undefined } | { ok: false; reason: string };

/** The host of a Prometheus `instance` label ("node-17:9100", "[fd00::1]:9100", "node-17"); undefined for URLs. */
export function instanceHost(instance: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(instance);
  if (bracketed) return bracketed[1];
  const plain = /^([^:/[\]\s]+)(?::\d+)?$/.exec(instance);
  return plain?.[1];
}

function targetFrom(rule: AlertRule, labels: Record<string, string>): TargetResult {
  const names = rule.labels;
  const get = (name: string) => labelValue(labels, name);
  const missing = (...wanted: string[]): TargetResult => ({
    ok: false,
    reason: `rule "${rule.name}" targets a ${rule.target} but the alert has no ${wanted.map((w) => `"${w}"`).join(' or ')} label`,
  });
  switch (rule.target) {
    case 'none':
      return { ok: true, target: undefined };
    case 'namespace': {
      const namespace = get(names.namespace);
      return namespace === undefined ? missing(names.namespace) : { ok: true, target: { namespace } };
    }
    case 'pod': {
      const namespace = get(names.namespace);
      const pod = get(names.pod);
      if (namespace === undefined) return missing(names.namespace);
      if (pod === undefined) return missing(names.pod);
      return { ok: true, target: { pod: `${namespace}/${pod}` } };
    }
    case 'node': {
      const node = get(names.node);
      if (node !== undefined) return { ok: true, target: { node } };
      const instance = get(names.instance);
      const host = instance === undefined ? undefined : instanceHost(instance);
      if (host !== undefined) return { ok: true, target: { node: host } };
      if (instance !== undefined) {
        return { ok: false, reason: `rule "${rule.name}" targets a node but the alert has no "${names.node}" label and its "${names.instance}" label ${quote(instance)} names no host` };
      }
      return missing(names.node, names.instance);
    }
  }
}

/** Label text in a reason: quoted, and short, since reasons are logged and shown. */
function quote(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 119)}…` : text);
}

function issuesText(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ');
}

/**
 * Which alerts of one notification start which investigations. Each alert counts on its own status (a group can
 * mix firing and resolved alerts); the first rule that matches it wins. Every alert ends up either planned or
 * skipped with a reason, in payload order. The same fingerprint twice in one payload is planned once.
 */
export function planInvestigations(payload: AlertmanagerPayload, rules: AlertRules): InvestigationPlan {
  const planned: PlannedInvestigation[] = [];
  const skipped: SkippedAlert[] = [];
  const seen = new Set<string>();

  for (const alert of payload.alerts) {
    const alertname = labelValue(alert.labels, 'alertname');
    const skip = (reason: string) => skipped.push({ fingerprint: alert.fingerprint, ...(alertname !== undefined ? { alertname } : {}), reason });

    if (seen.has(alert.fingerprint)) {
      skip('duplicate: an alert with this fingerprint came earlier in the same notification');
      continue;
    }
    seen.add(alert.fingerprint);

    const rule = chooseRule(alert, rules);
    if (typeof rule === 'string') {
      skip(rule);
      continue;
    }

    const t = targetFrom(rule, alert.labels);
    if (!t.ok) {
      skip(t.reason);
      continue;
    }
    let target: Target | undefined;
    if (t.target !== undefined) {
      const checked = Target.safeParse(t.target);
      if (!checked.success) {
        const shown = Object.entries(t.target).map(([k, v]) => `${k} ${quote(v)}`).join(', ');
        skip(`rule "${rule.name}": target ${shown} is not valid: ${issuesText(checked.error)}`);
        continue;
      }
      target = checked.data;
    }

    const symptom = rule.symptom === undefined ? '' : renderSymptom(rule.symptom, alert);
    const request: PlannedRequest = {
      playbook: rule.playbook,
      ...(target !== undefined ? { target } : {}),
      params: { ...rule.params },
      ...(symptom ? { symptom } : {}),
    };
    // The rules schema should make this unreachable; checking keeps a bad request from ever reaching the queue.
    const valid = InvestigationRequest.safeParse(request);
    if (!valid.success) {
      skip(`rule "${rule.name}": the request would be invalid: ${issuesText(valid.error)}`);
      continue;
    }

    planned.push({
      rule: rule.name,
      alert: {
        fingerprint: alert.fingerprint,
        ...(alertname !== undefined ? { alertname } : {}),
        status: alert.status,
        startsAt: alert.startsAt,
        labels: { ...alert.labels },
      },
      dedupeKey: alertDedupeKey(payload.groupKey, alert),
      request,
    });
  }
  return { planned, skipped };
}

/** The first rule for this alert, or why there is none. */
function chooseRule(alert: Alert, rules: AlertRules): AlertRule | string {
  const first = rules.rules.find((r) => ruleMatches(r, alert.labels));
  if (!first) return 'no rule matches';
  if (alert.status === 'firing') return first;
  const onResolved = rules.rules.find((r) => r.onResolved && ruleMatches(r, alert.labels));
  return onResolved ?? `resolved: rule "${first.name}" starts investigations for firing alerts only`;
}
