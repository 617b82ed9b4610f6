import { signSlackRequest } from '../../src/chatops/signature.ts';

export const SLACK_SECRET = 'test-signing-secret-8f742231b10e';

let trigger = 0;

export interface SlashCommandOptions {
  user?: string;
  channel?: string;
  responseUrl: string;
  triggerId?: string;
  secret?: string;
  timestamp?: number;
  tamper?: (body: string) => string;
}

/** A slash command as Slack sends it: form-encoded, signed over the raw body with the signing secret. */
export function slashCommandRequest(text: string, opts: SlashCommandOptions): { headers: Record<string, string>; body: string } {
  const form = new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0001',
    team_domain: 'example',
    channel_id: opts.channel ?? 'C0SRE',
    channel_name: 'sre',
    user_id: opts.user ?? 'U0ALICE',
    user_name: 'alice',
    command: '/investigate',
    text,
    api_app_id: 'A0TRACE',
    response_url: opts.responseUrl,
    trigger_id: opts.triggerId ?? `13345224609.738474920.${++trigger}${Date.now()}`,
  }).toString();
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = signSlackRequest(opts.secret ?? SLACK_SECRET, ts, form);
  return {
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signature },
    body: opts.tamper ? opts.tamper(form) : form,
  };
}

/** Posts a slash command the way Slack does (slashCommandRequest). */
export async function slashCommand(apiUrl: string, text: string, opts: SlashCommandOptions): Promise<{ status: number; json: Record<string, unknown>; body: string }> {
  const req = slashCommandRequest(text, opts);
  const res = await fetch(`${apiUrl}/v1/chatops/slack/commands`, { method: 'POST', headers: req.headers, body: req.body });
  const body = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    // problem+json or empty
  }
  return { status: res.status, json, body };
}

type Block = { type: string; text?: { text: string }; elements?: { type: string; url?: string; text?: unknown }[]; image_url?: string };

/** Block Kit blocks of a message, and all the mrkdwn text in it (for assertions on content). */
export function blocksOf(message: unknown): { blocks: Block[]; text: string; buttons: Record<string, string>; images: string[] } {
  const m = message as { blocks?: Block[]; text?: string };
  const blocks = m.blocks ?? [];
  const texts = [m.text ?? ''];
  const buttons: Record<string, string> = {};
  const images: string[] = [];
  for (const b of blocks) {
    if (b.text) texts.push(b.text.text);
    if (b.type === 'image' && b.image_url) images.push(b.image_url);
    for (const e of b.elements ?? []) {
      if (e.type === 'button' && e.url) buttons[(e.text as { text: string }).text] = e.url;
      if (e.type === 'mrkdwn' || e.type === 'plain_text') texts.push((e as unknown as { text: string }).text);
    }
  }
  return { blocks, text: texts.join('\n'), buttons, images };
}
