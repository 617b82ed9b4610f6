import type { AccessFile } from '../../src/auth/access-file.ts';
import { identity, type Identity } from '../../src/auth/identity.ts';
import { TracehoundError } from '../../src/core/errors.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import type { RunContext } from './run-context.ts';

/**
 * Why an ended investigation does not chain into the playbook its summary names, or null when it does: only a
 * succeeded run whose summary asks for it (one signal clearly dominates: src/findings/triage.ts), never from a run
 * that was itself chained (one hop, no loops), and once.
 */
export function whyNotChain(inv: Investigation): string | null {
  const next = inv.summary?.nextPlaybook;
  if (inv.status !== 'succeeded') return `it ${inv.status}`;
  if (!next) return 'its summary names no playbook to run next';
  if (!next.chain) return 'no signal clearly dominates';
  if (inv.chainedFrom) return `it was itself chained from ${inv.chainedFrom}`;
  if (inv.next) return `it already started ${inv.next.id}`;
  if (next.playbook === inv.playbook) return 'the next playbook is the one that ran';
  return null;
}

/**
 * Who a chained investigation starts as: the requester of the one it follows, with no more than that requester may
 * do now. A token's scopes, namespaces and playbooks come from the access file as it is (a token removed since may
 * not start anything); schedules and Alertmanager's own credentials are unrestricted at their doors too. A chat user
 * under Slack rules is judged by user and channel, and the channel is not recorded: no chain, the summary's
 * suggestion stays for a person to follow.
 */
export function chainIdentity(access: AccessFile, requestedBy: string): Identity | null {
  if (requestedBy.startsWith('token:')) {
    const entry = access.tokens.find((t) => `token:${t.name}` === requestedBy);
    return entry ? identity(requestedBy, entry.scopes, { namespaces: entry.namespaces ?? null, playbooks: entry.playbooks ?? null }) : null;
  }
  if (requestedBy.startsWith('schedule:') || requestedBy.startsWith('alertmanager:')) return identity(requestedBy, ['investigations:write']);
  const chat = requestedBy.startsWith('slack:') || requestedBy.startsWith('mattermost:');
  if (chat && access.slack.rules.length === 0) return identity(requestedBy, ['investigations:write']);
  return null;
}

/**
 * Called once an investigation has ended (the run that ended it, after finish): starts the playbook its summary
 * names as a new investigation through the one door (same requester, same target, default parameters), and links
 * both ways — `chainedFrom` on the new record, `next` on this one — then has the report rendered again to show the
 * link. A refusal (the requester may not run that playbook, rate limit…) is logged and leaves the suggestion in the
 * summary for a person to follow.
 */
export async function chainNext(ctx: RunContext, id: string): Promise<Investigation | null> {
  if (!ctx.hooks.chain) return null;
  const inv = await ctx.records.find(id);
  if (!inv) return null;
  const why = whyNotChain(inv);
  if (why) {
    if (inv.summary?.nextPlaybook) ctx.log.debug({ investigation: id, why }, 'not chaining');
    return null;
  }
  const playbook = inv.summary!.nextPlaybook!.playbook;
  let started: Investigation;
  try {
    started = await ctx.hooks.chain(inv, playbook);
  } catch (err) {
    // The door's own refusals (forbidden, rate-limited, no such target now) are answers, not faults.
    ctx.log[err instanceof TracehoundError ? 'info' : 'warn']({ err, investigation: id, playbook }, 'could not chain into the next playbook');
    return null;
  }
  await ctx.records.update(id, (cur) => ({ ...cur, next: { id: started.id, playbook: started.playbook } }));
  ctx.log.info({ investigation: id, next: started.id, playbook }, 'chained into the next playbook');
  await ctx.reports.request({ investigationId: id }).catch((err: unknown) => ctx.log.warn({ err, investigation: id }, 'could not queue the report again'));
  return started;
}
