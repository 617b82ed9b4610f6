/**
 * Every Redis key and pub/sub channel tracehound uses, under the configured prefix (QUEUE_PREFIX), as BullMQ's
 * QueueKeys spells the keys of its queues. The one place a key is spelled: two parts that must meet on a key (the
 * API and the agent on the cancel channel, intake and the reaper on the active set) cannot drift apart, and a
 * reader sees the whole layout at once.
 *
 * BullMQ's own keys are `<prefix>:<queue name>:<type>` (src/queue/queues.ts names the queues); ours share the
 * prefix, and no first segment of ours is a queue name, so the two never meet. The strings are stored data: a key
 * renamed here orphans what Redis holds under the old name.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** One investigation record (JSON). */
  investigation(id: string): string {
    return `${this.prefix}:inv:${id}`;
  }

  /** Set while a cancel of investigation `id` is requested: a key of its own, so the API never races record writes. */
  cancelRequest(id: string): string {
    return `${this.prefix}:inv:${id}:cancel`;
  }

  /** Sorted set of every investigation id (all score 0: ordered by id, so by creation time). */
  investigationIndex(): string {
    return `${this.prefix}:inv-index`;
  }

  /** Set of the ids of investigations not ended yet: what the reaper looks at. */
  activeInvestigations(): string {
    return `${this.prefix}:inv-active`;
  }

  /** Set once the active set holds the records written before it existed. */
  activeInvestigationsIndexed(): string {
    return `${this.prefix}:inv-active-indexed`;
  }

  /** Channel: the id of an investigation whose cancel was requested (agents stop its captures). */
  cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }

  /** Channel: the id of every investigation record written (API replicas stream changes without polling). */
  changeChannel(): string {
    return `${this.prefix}:inv-changed`;
  }

  /** A claim that an at-least-once delivery (`ns`: "slack-trigger", "alert") acts once. */
  once(ns: string, key: string): string {
    return `${this.prefix}:once:${ns}:${key}`;
  }

  /** Hash of schedule definitions by name. */
  schedules(): string {
    return `${this.prefix}:schedules`;
  }

  /** Sorted set of a schedule's investigations by firing time. */
  scheduleRuns(name: string): string {
    return `${this.prefix}:schedule-runs:${name}`;
  }

  /** List of an investigation's notification targets. */
  notifyTargets(id: string): string {
    return `${this.prefix}:notify:${id}`;
  }

  /** Hash of posts made per notification target of an investigation. */
  notifyPosts(id: string): string {
    return `${this.prefix}:notify:${id}:posts`;
  }

  /** Hash: the Slack thread of an Alertmanager alert group (`group`: the sha256 of its groupKey), and its state. */
  alertThread(group: string): string {
    return `${this.prefix}:alert-thread:${group}`;
  }

  /** List of the investigations an alert group started, oldest first (its resolution names what they found). */
  alertThreadInvestigations(group: string): string {
    return `${this.prefix}:alert-thread:${group}:inv`;
  }

  /** Stream of audit entries. */
  audit(): string {
    return `${this.prefix}:audit`;
  }

  /** A live node agent's heartbeat (JSON, with a TTL). */
  node(name: string): string {
    return `${this.prefix}:node:${name}`;
  }

  /** SCAN pattern of every node heartbeat key. */
  nodePattern(): string {
    return `${this.prefix}:node:*`;
  }

  /** rate-limiter-flexible's key prefix; it appends `:<requester>`. */
  rateLimit(): string {
    return `${this.prefix}:ratelimit`;
  }

  /** The lock one orchestrator holds while it sweeps for lost investigations. */
  reaperLock(): string {
    return `${this.prefix}:reaper-lock`;
  }

  /** Hash of the capture jobs of investigation `id` the watchdog watches, by job id. */
  watchedCaptures(id: string): string {
    return `${this.prefix}:watch:${id}`;
  }

  /** Set of investigations with watched captures. */
  watchedInvestigations(): string {
    return `${this.prefix}:watched`;
  }

  /** Why the watchdog gave up on capture job `jobId`. */
  lostCapture(jobId: string): string {
    return `${this.prefix}:lost:${jobId}`;
  }

  /** Set while a request to store investigation `id`'s report files waits to be served. */
  reportsPending(id: string): string {
    return `${this.prefix}:reports-pending:${id}`;
  }
}
