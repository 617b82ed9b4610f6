import type { Redis } from 'ioredis';
import { z } from 'zod';
import { RedisKeys } from '../redis/keys.ts';

export const NodeInfo = z.object({
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  kernel: z.string(),
  agentVersion: z.string(),
  capabilities: z.record(z.string(), z.unknown()),
  lastHeartbeat: z.string(),
});
export type NodeInfo = z.infer<typeof NodeInfo>;

/** Live agents announce themselves with a TTL; a node whose agent stops heartbeating drops out by expiry. */
export class NodeRegistry {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  private key = (name: string) => this.keys.node(name);

  async heartbeat(info: Omit<NodeInfo, 'lastHeartbeat'>, ttlMs: number): Promise<void> {
    const doc: NodeInfo = { ...info, lastHeartbeat: new Date().toISOString() };
    await this.redis.set(this.key(info.name), JSON.stringify(doc), 'PX', ttlMs);
  }

  async remove(name: string): Promise<void> {
    await this.redis.del(this.key(name));
  }

  async get(name: string): Promise<NodeInfo | null> {
    const raw = await this.redis.get(this.key(name));
    return raw ? NodeInfo.parse(JSON.parse(raw)) : null;
  }

  /** Which of these nodes are live, in one round trip and without reading their documents (a fleet has thousands). */
  async liveAmong(names: readonly string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const found = (await this.redis.pipeline(names.map((name) => ['exists', this.key(name)])).exec()) ?? [];
    return new Set(names.filter((_, i) => found[i]?.[1] === 1));
  }

  async list(): Promise<NodeInfo[]> {
    const nodes: NodeInfo[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', this.keys.nodePattern(), 'COUNT', 500);
      cursor = next;
      if (keys.length === 0) continue;
      for (const raw of await this.redis.mget(keys)) if (raw) nodes.push(NodeInfo.parse(JSON.parse(raw)));
    } while (cursor !== '0');
    return nodes.sort((a, b) => a.name.localeCompare(b.name));
  }
}
