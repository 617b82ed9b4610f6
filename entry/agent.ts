/** The node agent process. */
import type { Services } from './services.ts';
import type { Logger } from 'pino';
import { startNodeAgent } from '../workers/node-agent/agent.ts';
import type { Config } from '../src/config.ts';
import type { Stoppable } from '../src/stoppable.ts';

export async function startAgentPart(config: Config, services: Services, log: Logger): Promise<Stoppable> {
  const a = await startNodeAgent({ config, redis: services.redis, store: services.store, log });
  return { name: `agent ${a.name}`, stop: a.close };
}
