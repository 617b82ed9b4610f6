import { readFile } from 'node:fs/promises';
import type { Playbook } from '../playbooks/playbook.ts';
import { checkRulesAgainstPlaybooks, parseAlertRules, type AlertRules } from './rules.ts';

/** Reads ALERT_RULES_FILE; a rule naming an unknown playbook or bad params stops start-up, like a bad playbook does. */
export async function loadAlertRules(file: string, playbooks: readonly Playbook[]): Promise<AlertRules> {
  const rules = parseAlertRules(await readFile(file, 'utf8'), file);
  checkRulesAgainstPlaybooks(rules, playbooks, file);
  return rules;
}
