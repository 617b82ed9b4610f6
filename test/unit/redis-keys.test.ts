import { describe, expect, it } from 'vitest';
import { QUEUES, captureQueue } from '../../src/queue/queues.ts';
import { RedisKeys } from '../../src/redis/keys.ts';

/** Every key the class makes, with sample arguments (`id`, `name`, …), by method. */
function everyKey(keys: RedisKeys): Map<string, string> {
  const made = new Map<string, string>();
  for (const name of Object.getOwnPropertyNames(RedisKeys.prototype) as (keyof RedisKeys)[]) {
    if (name === ('constructor' as keyof RedisKeys)) continue;
    const member = keys[name];
    if (typeof member !== 'function') continue;
    made.set(name, (member as (...a: string[]) => string).call(keys, 'inv_01jz8k3m4n5p6q7r8s9t0v1w2x', 'b'));
  }
  return made;
}

const globToRegExp = (glob: string) => new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

describe('RedisKeys', () => {
  const keys = new RedisKeys('th');

  it('spells the layout Redis already holds (a renamed key would orphan stored records, schedules and locks)', () => {
    expect(Object.fromEntries(everyKey(keys))).toEqual({
      investigation: 'th:inv:inv_01jz8k3m4n5p6q7r8s9t0v1w2x',
      cancelRequest: 'th:inv:inv_01jz8k3m4n5p6q7r8s9t0v1w2x:cancel',
      investigationIndex: 'th:inv-index',
      activeInvestigations: 'th:inv-active',
      activeInvestigationsIndexed: 'th:inv-active-indexed',
      cancelChannel: 'th:cancel',
      changeChannel: 'th:inv-changed',
      once: 'th:once:inv_01jz8k3m4n5p6q7r8s9t0v1w2x:b',
      schedules: 'th:schedules',
      scheduleRuns: 'th:schedule-runs:inv_01jz8k3m4n5p6q7r8s9t0v1w2x',
      notifyTargets: 'th:notify:inv_01jz8k3m4n5p6q7r8s9t0v1w2x',
      notifyPosts: 'th:notify:inv_01jz8k3m4n5p6q7r8s9t0v1w2x:posts',
      alertThread: 'th:alert-thread:inv_01jz8k3m4n5p6q7r8s9t0v1w2x',
      alertThreadInvestigations: 'th:alert-thread:inv_01jz8k3m4n5p6q7r8s9t0v1w2x:inv',
      audit: 'th:audit',
      node: 'th:node:inv_01jz8k3m4n5p6q7r8s9t0v1w2x',
      nodePattern: 'th:node:*',
      rateLimit: 'th:ratelimit',
      reaperLock: 'th:reaper-lock',
      watchedCaptures: 'th:watch:inv_01jz8k3m4n5p6q7r8s9t0v1w2x',
      watchedInvestigations: 'th:watched',
      lostCapture: 'th:lost:inv_01jz8k3m4n5p6q7r8s9t0v1w2x',
      reportsPending: 'th:reports-pending:inv_01jz8k3m4n5p6q7r8s9t0v1w2x',
    });
  });

  it('keeps each deployment to its prefix: two prefixes on one Redis share no key', () => {
    const a = [...everyKey(new RedisKeys('blue')).values()];
    const b = [...everyKey(new RedisKeys('green')).values()];
    for (const k of a) expect(k.startsWith('blue:'), k).toBe(true);
    expect(a.filter((k) => b.includes(k))).toEqual([]);
  });

  it("never writes into a BullMQ queue's keys (<prefix>:<queue>:…), whatever the queue or node", () => {
    const queueNames = [...Object.values(QUEUES).map((q) => q.name), ...['node-17', 'capture', 'a.b.example.com'].map((n) => captureQueue(n).name)];
    expect(queueNames).toEqual(expect.arrayContaining(['investigations', 'late-artifacts', 'reports', 'schedules', 'notifications', 'capture-node-17']));
    for (const key of everyKey(keys).values()) {
      for (const q of queueNames) expect(key.startsWith(`th:${q}:`), `${key} is under queue ${q}`).toBe(false);
    }
  });

  it('distinct arguments give distinct keys, and record keys do not meet their cancel flags', () => {
    expect(keys.investigation('inv_a')).not.toBe(keys.investigation('inv_b'));
    expect(keys.once('alert', 'k')).not.toBe(keys.once('slack-trigger', 'k'));
    expect(keys.notifyTargets('inv_a')).not.toBe(keys.notifyPosts('inv_a'));
    expect(keys.investigation('inv_a')).not.toBe(keys.cancelRequest('inv_a'));
  });

  it('the node SCAN pattern matches every node heartbeat and no other key', () => {
    const pattern = globToRegExp(keys.nodePattern());
    for (const n of ['node-17', 'ip-10-0-0-1.ec2.internal']) expect(pattern.test(keys.node(n)), n).toBe(true);
    const others = [...everyKey(keys)].filter(([method]) => method !== 'node' && method !== 'nodePattern').map(([, k]) => k);
    expect(others.filter((k) => pattern.test(k))).toEqual([]);
  });
});
