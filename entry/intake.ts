/** What the API and the schedule runner share: the one door's dependencies and the public URL of links. */
import type { Services } from './services.ts';
import type { Logger } from 'pino';
import type { Config } from '../src/config.ts';
import { RequesterRateLimiter } from '../src/intake/rate-limit.ts';
import type { IntakeDeps } from '../src/intake/start.ts';
import type { Redis } from 'ioredis';

/** The one door for investigations, shared by the API and the schedule runner. */
export function intakeDeps(
  config: Config,
  services: Services,
  redis: Redis,
  parts: Pick<IntakeDeps, 'records' | 'investigations' | 'audit' | 'notifyTargets'>,
  log: Logger,
  rateLimit: boolean,
): IntakeDeps {
  return {
    ...parts,
    playbooks: services.playbooks,
    inventory: services.inventory,
    limiter: rateLimit ? new RequesterRateLimiter(redis, config.QUEUE_PREFIX, config.RATE_LIMIT) : null,
    limits: { maxDurationMs: config.CAPTURE_MAX_DURATION, maxHz: config.CAPTURE_MAX_HZ },
    log,
  };
}


/** The public URL links point at: PUBLIC_BASE_URL, else where the API listens. */
export const publicBaseUrl = (config: Config, listening?: string) => config.PUBLIC_BASE_URL ?? listening ?? `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${config.PORT}`;
