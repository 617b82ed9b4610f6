/**
 * Help for the `/investigate` slash command. The text is plain (backticks for code, no entities): the message
 * builders escape it for Slack, and other chat systems can show it as it is.
 */

export const COMMAND = '/investigate';

export const USAGE = `Usage: \`${COMMAND} <playbook> [key=value …]\`, \`${COMMAND} <what is wrong> [key=value …]\`, \`${COMMAND} status <id>\`, \`${COMMAND} cancel <id>\`, \`${COMMAND} sweeps\`, \`${COMMAND} help [command]\``;

/** Short names people type for playbooks; a deployment may add its own. */
export const DEFAULT_ALIASES: Readonly<Record<string, string>> = { profile: 'cpu-profile' };

export interface PlaybookInfo {
  name: string;
  title?: string;
}

const TOPICS: Record<string, string[]> = {
  investigate: [
    `\`${COMMAND} <playbook> [key=value …]\` runs a playbook; \`${COMMAND} <what is wrong> [key=value …]\` lets the service pick one from your words.`,
    'Target: `pod=<namespace>/<name>`, `node=<name>`, `ns=<namespace>` (or `namespace=`), `selector="app=cart,tier=web"` (needs `ns=`), `cgroup=<path>`, `pid=<number>`.',
    'Parameters: `for=30s` sets the duration; any other `key=value` goes to the playbook (`hz=99`). Quote values with spaces: `key="a b"`.',
    'Examples:',
    `• \`${COMMAND} enospc pod=shop/cart-7d9f for=30s\``,
    `• \`${COMMAND} profile node=node-17 for=30s hz=99\``,
    `• \`${COMMAND} mount fails with ENOSPC pod=shop/cart-7d9f\``,
  ],
  status: [`\`${COMMAND} status <id>\` shows where an investigation is, or its result when it has finished.`],
  cancel: [`\`${COMMAND} cancel <id>\` stops an investigation that is queued or running.`],
  sweeps: [`\`${COMMAND} sweeps\` lists the scheduled sweeps, when they run next and what they found last.`],
  help: [`\`${COMMAND} help [command]\` explains a command (\`investigate\`, \`status\`, \`cancel\`, \`sweeps\`) or a playbook.`],
};

function playbookLines(playbooks: readonly PlaybookInfo[]): string[] {
  if (playbooks.length === 0) return [];
  return ['Playbooks:', ...playbooks.map((p) => `• \`${p.name}\`${p.title ? ` — ${p.title}` : ''}`)];
}

/** The whole help, or one command's or one playbook's when `topic` names it; an unknown topic gets the whole help. */
export function helpText(topic?: string, playbooks: readonly PlaybookInfo[] = []): string {
  const t = topic?.trim().toLowerCase();
  if (t) {
    const command = Object.hasOwn(TOPICS, t) ? TOPICS[t] : undefined;
    if (command) return [...command, '', USAGE].join('\n');
    const name = Object.hasOwn(DEFAULT_ALIASES, t) ? DEFAULT_ALIASES[t] : t;
    const playbook = playbooks.find((p) => p.name === name);
    if (playbook) {
      return [
        `\`${playbook.name}\`${playbook.title ? ` — ${playbook.title}` : ''}`,
        `Run it with \`${COMMAND} ${playbook.name} <target> [for=<duration>] [key=value …]\`, e.g. \`${COMMAND} ${playbook.name} node=node-17 for=30s\`.`,
      ].join('\n');
    }
  }
  const lines: string[] = [];
  if (t) lines.push(`There is no help on "${topic?.trim()}"; here is all of it.`, '');
  lines.push(
    `*${COMMAND}* starts a time-boxed investigation and posts what it found.`,
    '',
    ...(TOPICS.investigate ?? []),
    'Other commands:',
    `• \`${COMMAND} status <id>\` — where an investigation is, or its result`,
    `• \`${COMMAND} cancel <id>\` — stop an investigation`,
    `• \`${COMMAND} sweeps\` — the scheduled sweeps and their last results`,
  );
  const pb = playbookLines(playbooks);
  if (pb.length) lines.push('', ...pb);
  lines.push('', USAGE);
  return lines.join('\n');
}
