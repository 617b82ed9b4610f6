import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { formatDurationMs, parseDurationMs } from './core/duration.ts';
import { NodeName } from './core/target.ts';

/** Env values are strings; an empty string means "unset" so `FOO= npm start` behaves like no FOO at all. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));

const durationEnv = (def: string) =>
  z
    .string()
    .default(def)
    .transform((v, ctx) => {
      const ms = parseDurationMs(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a duration such as "${def}"` });
        return z.NEVER;
      }
      return ms;
    });

function defaultCgroupRoot(): string {
  // Hybrid hosts (like the development VMs) mount cgroup v2 at .../unified; pure v2 hosts at /sys/fs/cgroup.
  return existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
}

export const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Folder for the embedded Redis snapshot and the embedded S3 server's objects. */
  DATA_DIR: z.string().min(1).default('.tracehound'),

  REDIS_URL: optional(z.url({ protocol: /^rediss?$/, error: 'expected redis://host:port or rediss://…' })),
  /** BullMQ key prefix; use a hash tag such as "{tracehound}" on Redis Cluster. */
  QUEUE_PREFIX: z.string().min(1).max(64).default('tracehound'),

  S3_ENDPOINT: optional(z.url({ protocol: /^https?$/, error: 'expected http(s)://host:port' })),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name')
    .default('tracehound'),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: optional(z.string().min(1)),
  S3_SECRET_ACCESS_KEY: optional(z.string().min(1)),
  S3_FORCE_PATH_STYLE: bool.default(true),

  /**
   * Where pods and nodes come from: the Kubernetes API (in-cluster or KUBECONFIG), a static YAML file of hosts
   * (INVENTORY_FILE), or none; "auto" picks Kubernetes when reachable by configuration, else the file if given.
   */
  INVENTORY: z.enum(['auto', 'kubernetes', 'static', 'none']).default('auto'),
  INVENTORY_FILE: optional(z.string().min(1)),
  /** Folder of YAML playbooks (defaults to the repository's playbooks/). */
  PLAYBOOKS_DIR: optional(z.string().min(1)),
  /** Name this host's agent registers and consumes capture jobs under. */
  NODE_NAME: NodeName.default(hostname().toLowerCase()),
  CGROUP_ROOT: z.string().startsWith('/').default(defaultCgroupRoot()),
  TRACEFS: z.string().startsWith('/').default('/sys/kernel/tracing'),
  BPFTRACE: z.string().min(1).default('bpftrace'),
  /** bpftrace 0.17 silently drops map entries past this many keys (its default is 4096: too few on busy nodes). */
  BPFTRACE_MAP_KEYS_MAX: z.coerce.number().int().min(1024).max(4_194_304).default(65_536),
  AGENT_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  /** After the time box, bpftrace gets SIGINT to print its maps; it is killed if still running this long after. */
  CAPTURE_KILL_GRACE: durationEnv('2s'),
  CAPTURE_MAX_DURATION: durationEnv('120s'),
  /** Highest sampling rate any request may ask for (per CPU); profile overhead grows with it. */
  CAPTURE_MAX_HZ: z.coerce.number().int().min(1).max(10_000).default(999),
  NODE_HEARTBEAT: durationEnv('5s'),

  /** YAML with hashed API tokens and Slack restrictions (see README). Without it, `npm start` makes an admin token. */
  ACCESS_FILE: optional(z.string().min(1)),
  /** Investigations one requester may start per window, e.g. "30/1m". */
  RATE_LIMIT: z
    .string()
    .default('30/1m')
    .transform((v, ctx) => {
      const m = /^(\d{1,6})\/(.+)$/.exec(v);
      const windowMs = m ? parseDurationMs(m[2]!) : undefined;
      if (!m || windowMs === undefined || Number(m[1]) < 1 || windowMs < 1000) {
        ctx.addIssue({ code: 'custom', message: 'expected <count>/<window> such as "30/1m"' });
        return z.NEVER;
      }
      return { points: Number(m[1]), windowMs };
    }),
  /** Where users reach the API (links in Slack); defaults to the address it listens on. */
  PUBLIC_BASE_URL: optional(z.url({ protocol: /^https?$/, error: 'expected http(s)://host[:port][/path]' })),
  /** Key for signed report links (≥ 32 characters); without it one is generated and kept in DATA_DIR. */
  LINK_SECRET: optional(z.string().min(32, 'use at least 32 characters')),
  LINK_TTL: durationEnv('7d'),
  SLACK_SIGNING_SECRET: optional(z.string().min(8)),
  /** The token Mattermost shows for a slash command pointed at the same endpoint (Mattermost does not sign). */
  MATTERMOST_COMMAND_TOKEN: optional(z.string().min(16, 'use the token Mattermost generated for the command')),
  /** YAML rules mapping Alertmanager alerts to playbooks; the webhook is off without them. */
  ALERT_RULES_FILE: optional(z.string().min(1)),
  ALERTMANAGER_BEARER_TOKEN: optional(z.string().min(16, 'use at least 16 characters')),
  /** "user:password", as in Alertmanager's basic_auth. */
  ALERTMANAGER_BASIC_AUTH: optional(z.string().regex(/^[^:]+:.{8,}$/, 'expected user:password (password ≥ 8 characters)')),
  ALERT_SLACK_WEBHOOK_URL: optional(z.url({ protocol: /^https?$/ })),
  /** Hosts notifications may be posted to (Slack response_url and webhooks), comma-separated. */
  NOTIFY_URL_HOSTS: z
    .string()
    .default('hooks.slack.com')
    .transform((v) => v.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)),
  /** Serve /metrics on this port in `tracehound orchestrator` and `tracehound agent` (the API serves its own). */
  METRICS_PORT: optional(z.coerce.number().int().min(1).max(65535)),
  /** Schedules may not fire more often than this. */
  SCHEDULE_MIN_INTERVAL: durationEnv('1m'),
});
export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {}

/** Parses the environment once; every problem names its variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export function describeConfig(c: Config): string {
  return `node=${c.NODE_NAME} cgroupRoot=${c.CGROUP_ROOT} maxCapture=${formatDurationMs(c.CAPTURE_MAX_DURATION)}`;
}
