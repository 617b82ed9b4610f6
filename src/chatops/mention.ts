/**
 * An @-mention as a command: "@tracehound ENOSPC on pod shop/cart-7d9f" reads like a sentence, not like
 * `/investigate enospc pod=shop/cart-7d9f`. This turns the first into the second's syntax for parseChatCommand:
 * mentions go, and a target named in words becomes a key=value pair. Only unmistakable forms are read as targets
 * — after "on", "in", "at" or "for" ("on node node-7", "in namespace shop"), or a pod written namespace/name — so
 * "the node is slow" stays a symptom.
 */

/** `<@U0BOT>` and `<@U0BOT|tracehound>`: Slack's markup for a mention. */
const MENTION = /<@[A-Z0-9]+(?:\|[^<>]*)?>/g;

const KEYS = 'pod|node|namespace|ns|cgroup|pid';
/** A value: what the Target schema will check; here only "a token that is not a key=value pair or a quote". */
const VALUE = '([A-Za-z0-9][^\\s"\\u201c\\u201d=,;]*)';
const AFTER_PREPOSITION = new RegExp(`\\b(?:on|in|at|for)\\s+(?:the\\s+)?(${KEYS})\\s+${VALUE}[,;:!?]*`, 'gi');
const POD_WITH_NAMESPACE = new RegExp(`(?<![\\w=])(pod)\\s+([a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9.-]*)[,;:!?]*`, 'gi');

export function mentionCommandText(text: string): string {
  return text
    .replace(MENTION, ' ')
    .replace(AFTER_PREPOSITION, (_m, key: string, value: string) => ` ${key.toLowerCase()}=${value.replace(/\.+$/, '')} `)
    .replace(POD_WITH_NAMESPACE, (_m, _key: string, value: string) => ` pod=${value.replace(/\.+$/, '')} `)
    .replace(/\s+/g, ' ')
    .trim();
}
