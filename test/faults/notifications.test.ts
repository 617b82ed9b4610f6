import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { startHookServer, type HookServer } from '../helpers/hook-server.ts';
import { sleep, startRig, tracefsState, waitUntil, type Rig } from '../helpers/parts.ts';
import { describeSteps } from '../helpers/steps.ts';
import { chatPosts, expectInvariants, expectNoDuplicateMessages } from './checks.ts';
import { faultLog } from './fault-log.ts';

let rig: Rig;
const log = faultLog('notifications', () => rig?.logs() ?? '');

/** The notifier retries a failed post with backoff (1 s, 2 s, 4 s...): a recovered target gets the message by then. */
const DELIVERED_AFTER_RECOVERY_MS = 30_000;
/** A post to a target that never answers must be given up (the notifier's own timeout), not held for ever. */
const HUNG_POST_ABANDONED_WITHIN_MS = 15_000;

/**
 * The chat target (Slack's response_url, here a local server) fails: answers 5xx, never answers, or redirects
 * elsewhere. The investigation must not wait for it, no message may be shown twice, and a redirect is a failed
 * post, never followed (the final message carries signed report links).
 */
describe.skipIf(skipBpf)(bpfSuiteName('fault: the notification target answers 5xx, hangs or redirects'), () => {
  let hook: HookServer;
  let elsewhere: HookServer;

  beforeAll(async () => {
    assertBpf();
    hook = await startHookServer();
    elsewhere = await startHookServer();
    // Only the target is allowed, not where it redirects to.
    rig = await startRig({ label: 'notify', env: { NOTIFY_URL_HOSTS: hook.url } });
    await rig.startAll();
  });
  afterAll(async () => {
    await rig?.stop();
    await hook?.close();
    await elsewhere?.close();
    log.printTable();
  });

  it('5xx: the investigation ends on time; once the target recovers the final message is posted exactly once', async () => {
    const fault = log.begin('notification target answers 503');
    const chat = '/commands/5xx';
    hook.respond({ status: 503 });
    const tracefsBefore = tracefsState();
    const inv = await rig.waitForEnd(await rig.investigateFromSlack(`${hook.url}${chat}`));
    fault.ended(inv);
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    await expectInvariants(rig, inv, tracefsBefore);

    await waitUntil(() => chatPosts(hook, chat).finalAttempts.length >= 1, 20_000, 'an attempt to post the final message');
    const recoveredAt = Date.now();
    hook.respond({ status: 200 });
    await waitUntil(() => chatPosts(hook, chat).finalsAccepted.length >= 1, DELIVERED_AFTER_RECOVERY_MS, 'final message accepted after recovery');
    const deliveredMs = Date.now() - recoveredAt;
    await sleep(3_000); // a second copy would come with the next retry
    const posts = chatPosts(hook, chat);
    fault.note(`final message posted once ${(deliveredMs / 1000).toFixed(1)} s after the target recovered (${posts.finalAttempts.length} attempts)`);
    expect(posts.finalsAccepted).toHaveLength(1);
    expectNoDuplicateMessages(hook, chat);
  }, 120_000);

  it('timeout: a post that is never answered is abandoned, the investigation is not held up, nothing is posted twice', async () => {
    const fault = log.begin('notification target never answers');
    const chat = '/commands/hang';
    hook.respond({ hang: true });
    const tracefsBefore = tracefsState();
    const inv = await rig.waitForEnd(await rig.investigateFromSlack(`${hook.url}${chat}`));
    fault.ended(inv);
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    await expectInvariants(rig, inv, tracefsBefore);

    await waitUntil(() => chatPosts(hook, chat).finalAttempts.length >= 1, 20_000, 'an attempt to post the final message');
    const hung = chatPosts(hook, chat).finalAttempts[0]!;
    hook.respond({ status: 200 });
    await waitUntil(() => hung.closedAt !== undefined, HUNG_POST_ABANDONED_WITHIN_MS, 'the hung post abandoned by the notifier');
    await waitUntil(() => chatPosts(hook, chat).finalsAccepted.length >= 1, DELIVERED_AFTER_RECOVERY_MS, 'final message accepted after recovery');
    await sleep(3_000);
    const posts = chatPosts(hook, chat);
    fault.note(`hung post abandoned after ${((hung.closedAt! - hung.at) / 1000).toFixed(1)} s; final message posted once (${posts.finalAttempts.length} attempts)`);
    expect(posts.finalsAccepted).toHaveLength(1);
    expectNoDuplicateMessages(hook, chat);
  }, 120_000);

  it('redirect: a 3xx is a failed post, never followed; the redirect target gets nothing', async () => {
    const fault = log.begin('notification target answers 307 to another server');
    const chat = '/commands/redirect';
    hook.respond({ redirect: `${elsewhere.url}/stolen`, status: 307 });
    const tracefsBefore = tracefsState();
    const inv = await rig.waitForEnd(await rig.investigateFromSlack(`${hook.url}${chat}`));
    fault.ended(inv);
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    await expectInvariants(rig, inv, tracefsBefore);

    // Tried, refused as a failure (hence tried again), and never sent where the redirect pointed.
    await waitUntil(() => chatPosts(hook, chat).finalAttempts.length >= 2, 20_000, 'a second attempt at the final message (the 307 counted as a failed post)');
    await sleep(1_000);
    const posts = chatPosts(hook, chat);
    fault.note(`${posts.finalAttempts.length} final attempts, all answered 307; redirect target got ${elsewhere.received.length} requests`);
    expect(elsewhere.received.map((r) => r.path)).toEqual([]);
    expect(posts.finalsAccepted).toEqual([]);
    expectNoDuplicateMessages(hook, chat);
  }, 120_000);
});
