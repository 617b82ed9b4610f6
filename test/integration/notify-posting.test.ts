import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newInvestigationId } from '../../src/core/ids.ts';
import { notificationsPosted } from '../../src/metrics.ts';
import { startHookServer, type HookServer } from '../helpers/hook-server.ts';
import { startNotificationHarness, type NotificationHarness } from '../helpers/notification-worker.ts';

const TIMEOUT_MS = 300;

/** Counted posts with this result so far (the registry is per process, so tests compare before and after). */
async function posted(result: string): Promise<number> {
  const { values } = await notificationsPosted.get();
  return values.filter((v) => v.labels.result === result).reduce((n, v) => n + v.value, 0);
}

/**
 * The notification worker against real Redis/BullMQ and real local HTTP servers: the allowed target fails in each
 * way a chat server can (redirect, 5xx, silence) and each is a failed, counted, retried post — never a post elsewhere.
 */
describe('notification posting', () => {
  let n: NotificationHarness;
  let hook: HookServer;
  let elsewhere: HookServer;

  beforeAll(async () => {
    hook = await startHookServer();
    elsewhere = await startHookServer();
    // Only the first server is allowed; the second is where a redirect would lead.
    n = startNotificationHarness('notify', { allowedHosts: hook.url, timeoutMs: TIMEOUT_MS });
  });
  afterAll(async () => {
    await n?.close();
    await hook?.close();
    await elsewhere?.close();
  });

  /** An ended investigation whose final message goes to `url`; returns its id once the message is queued. */
  const finishedWithTarget = async (url: (id: string) => string) => {
    const id = newInvestigationId();
    const now = new Date().toISOString();
    await n.records.create({ id, status: 'succeeded', playbook: 'cpu-profile', params: {}, createdAt: now, finishedAt: now, requestedBy: 'token:test', steps: [], artifacts: [] });
    await n.targets.add(id, { kind: 'slack-response-url', url: url(id) });
    await n.notifier.changed(id, 'final');
    return id;
  };
  const finalJob = async (id: string) => (await n.queue.getJob(`${id}-final`))!;
  const attemptsOf = async (id: string) => (await finalJob(id)).attemptsMade;

  it('does not follow a 307: the redirect target receives nothing, the job fails, is retried and delivers once the target answers', async () => {
    const before = await posted('redirect');
    hook.respond({ redirect: `${elsewhere.url}/stolen`, status: 307 });
    const id = await finishedWithTarget((id) => `${hook.url}/redirect/${id}`);
    // The first attempt and one retry (after the 1 s backoff): a redirect is a failure like any other.
    await expect.poll(() => attemptsOf(id), { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    expect((await finalJob(id)).failedReason).toMatch(/answered 307 \(to http:\/\/127\.0\.0\.1:\d+\/stolen\); redirects are not followed/);
    expect(hook.received.filter((r) => r.path === `/redirect/${id}`).length).toBeGreaterThanOrEqual(2);
    expect(elsewhere.received).toEqual([]);
    expect((await posted('redirect')) - before).toBeGreaterThanOrEqual(2);

    hook.respond({ status: 200 });
    await expect.poll(async () => (await finalJob(id)).getState(), { timeout: 15_000, interval: 100 }).toBe('completed');
    expect(hook.received.filter((r) => r.path === `/redirect/${id}` && r.answered === 200)).toHaveLength(1);
    expect(elsewhere.received).toEqual([]);
  }, 30_000);

  it('counts a 5xx as a failed post and retries it', async () => {
    const before = await posted('http_503');
    hook.respond({ status: 503 });
    const id = await finishedWithTarget((id) => `${hook.url}/unavailable/${id}`);
    await expect.poll(() => attemptsOf(id), { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    expect((await finalJob(id)).failedReason).toMatch(/answered 503/);
    expect((await posted('http_503')) - before).toBeGreaterThanOrEqual(2);
    hook.respond({ status: 200 });
  }, 30_000);

  it('gives up on a target that never answers after the timeout, and retries it', async () => {
    const before = await posted('timeout');
    hook.respond({ hang: true });
    const id = await finishedWithTarget((id) => `${hook.url}/hang/${id}`);
    await expect.poll(() => attemptsOf(id), { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(2);
    expect((await finalJob(id)).failedReason).toBe(`${new URL(hook.url).host} did not answer within ${TIMEOUT_MS} ms`);
    expect((await posted('timeout')) - before).toBeGreaterThanOrEqual(2);
    // The worker hung up on the hung request rather than holding it.
    const first = hook.received.find((r) => r.path === `/hang/${id}`)!;
    expect(first.closedAt! - first.at).toBeLessThan(TIMEOUT_MS + 1_000);
    hook.respond({ status: 200 });
  }, 30_000);

  it('never posts to a URL NOTIFY_URL_HOSTS does not allow (another port of the same host), and does not retry it', async () => {
    const before = await posted('refused');
    const id = await finishedWithTarget((id) => `${elsewhere.url}/other-port/${id}`);
    await expect.poll(async () => (await finalJob(id)).getState(), { timeout: 10_000, interval: 100 }).toBe('completed');
    expect(await attemptsOf(id)).toBe(1);
    expect(elsewhere.received).toEqual([]);
    expect((await posted('refused')) - before).toBe(1);
  });
});
