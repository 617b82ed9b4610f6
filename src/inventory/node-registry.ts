import type { Redis } from 'ioredis';
import { z } from 'zod';

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
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key = (name: string) => `${this.prefix}:node:${name}`;

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

  async list(): Promise<NodeInfo[]> {
    const nodes: NodeInfo[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:node:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length === 0) continue;
      for (const raw of await this.redis.mget(keys)) if (raw) nodes.push(NodeInfo.parse(JSON.parse(raw)));
    } while (cursor !== '0');
    return nodes.sort((a, b) => a.name.localeCompare(b.name));
  }
}
