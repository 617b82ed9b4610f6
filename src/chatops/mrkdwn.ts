/**
 * Slack treats `&`, `<` and `>` as control characters in every text it renders (mrkdwn and the top-level `text`
 * fallback) and asks senders to entity-encode exactly these three and nothing else:
 * https://api.slack.com/reference/surfaces/formatting#escaping
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Undoes what Slack does to the text of a slash command before it reaches us: it wraps links, mentions and channel
 * references in `<…>` (`<http://x|x>`, `<@U123|ann>`, `<#C1|ops>`) and entity-encodes the `&`, `<` and `>` the user
 * typed. Literal angle brackets in the received text are therefore always Slack's own markup, so they are resolved
 * first (to the label the user saw, else the bare target), and the entities after — `&amp;` last, so that a user
 * who typed "&lt;" gets "&lt;" back and not "<".
 */
export function unescapeSlackText(text: string): string {
  return text
    .replace(/<([^<>|]*)\|([^<>]*)>/g, (_m, _target: string, label: string) => label)
    .replace(/<([^<>|]*)>/g, (_m, target: string) => target)
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/**
 * Shortens text to at most `max` UTF-16 units, ending in "…", without splitting a surrogate pair (half an emoji)
 * or an entity such as `&amp;` that `escapeMrkdwn` produced: Slack rejects a whole message for one field over its
 * limit, so every length-limited field goes through here.
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max < 1) return '';
  let cut = text.slice(0, max - 1);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  const amp = cut.lastIndexOf('&');
  if (amp !== -1 && amp >= cut.length - 5 && !cut.slice(amp).includes(';')) cut = cut.slice(0, amp);
  return `${cut}…`;
}
