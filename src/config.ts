import { existsSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { z } from 'zod';
import { formatDurationMs, parseDurationMs } from './core/duration.ts';
import type { FieldError } from './core/errors.ts';
import { NodeName } from './core/target.ts';
import { DEFAULT_SLACK_API_URL } from './notify/slack-api.ts';
import { NotifyHosts, refusedUrl, SlackChannel } from './notify/targets.ts';

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

const BYTE_UNITS = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3 } as const;

/** A size such as "256MiB", "1GiB", "500MB" or a bare number of bytes. */
const bytesEnv = (def: string) =>
  z
    .string()
    .default(def)
    .transform((v, ctx) => {
      const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$/.exec(v.trim());
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `expected a size such as "${def}"` });
        return z.NEVER;
      }
      return Math.floor(Number(m[1]) * BYTE_UNITS[(m[2] ?? 'B') as keyof typeof BYTE_UNITS]);
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

  /**
   * Where an AWS Lambda function's secrets are (src/secrets/aws-secrets.ts): a Secrets Manager secret (its ARN or
   * name) holding a JSON object of these configuration names, or an SSM Parameter Store path whose parameters are
   * named by them. Read before the rest, which they complete.
   */
  TRACEHOUND_SECRET_ARN: optional(z.string().min(1)),
  TRACEHOUND_SSM_PATH: optional(z.string().regex(/^\/[\w.\-/]*$/, 'expected a path such as /tracehound/prod')),
  REDIS_URL: optional(z.url({ protocol: /^rediss?$/, error: 'expected redis://host:port or rediss://…' })),
  /**
   * Speak Redis Cluster's protocol to REDIS_URL (one node or a configuration endpoint): ElastiCache Serverless and
   * MemoryDB accept nothing else. QUEUE_PREFIX must then carry a hash tag, so that every key lands in one slot.
   */
  REDIS_CLUSTER: bool.default(false),
  /** Prefix of every Redis key, BullMQ's and ours (src/redis/keys.ts); use a hash tag such as "{tracehound}" on Redis Cluster. */
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
   * Bounds of each S3 attempt: opening the connection, then getting the answer's headers (a PUT's body is sent
   * within it); REQUEST also limits how long a response body may stall. A hung S3 must not hang an investigation.
   */
  S3_CONNECT_TIMEOUT: durationEnv('2s').pipe(z.number().min(100, 'at least 100ms').max(60_000, 'at most 60s')),
  S3_REQUEST_TIMEOUT: durationEnv('15s').pipe(z.number().min(100, 'at least 100ms').max(300_000, 'at most 5m')),
  /** Tries per S3 call, the first included; retries back off exponentially with jitter (the SDK's standard mode). */
  S3_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),

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
  /** Where the agent keeps artifacts it could not upload until storage takes them; default `${DATA_DIR}/spool`. */
  AGENT_SPOOL_DIR: optional(z.string().min(1)),
  /** Most bytes the spool holds; past it the oldest spooled artifacts are dropped (and logged). */
  AGENT_SPOOL_MAX: bytesEnv('256MiB').pipe(z.number().min(1024 * 1024, 'at least 1MiB')),
  /**
   * After the time box, bpftrace gets SIGINT to print its maps; it is killed if still running this long after (or a
   * tool's longer stop grace). Also the most a capture outlives an agent that died.
   */
  CAPTURE_KILL_GRACE: durationEnv('2s'),
  CAPTURE_MAX_DURATION: durationEnv('120s'),
  /**
   * How long bpftrace may take to load a program and attach its probes before the capture fails. LLVM compiles the
   * program first: well under a second on a server, 10–40 s on a slow or emulated node (the kernel matrix's guests).
   * At most 55 s: the orchestrator allows each capture 60 s beyond its time box.
   */
  CAPTURE_STARTUP_TIMEOUT: durationEnv('30s').pipe(z.number().min(1_000, 'at least 1s').max(55_000, 'at most 55s (the orchestrator waits 60 s past a capture\'s time box)')),
  /** Highest sampling rate any request may ask for (per CPU); profile overhead grows with it. */
  CAPTURE_MAX_HZ: z.coerce.number().int().min(1).max(10_000).default(999),
  /**
   * The overhead one bpftrace capture may put on its node while attached (`cost.attachedNodeCpuShare`), as a share
   * of all its CPUs: "0.05" or "5%". Loading and native tools are recorded, not judged (core/capture-cost.ts,
   * judgedShare). A capture over it says so in its step and as a finding.
   */
  CAPTURE_COST_BUDGET: z
    .string()
    .default('0.05')
    .transform((v, ctx) => {
      const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(v.trim());
      const share = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
      if (!(share > 0 && share <= 1)) {
        ctx.addIssue({ code: 'custom', message: 'expected a share of the node\'s CPU above 0 and at most 1, such as "0.05" or "5%"' });
        return z.NEVER;
      }
      return share;
    }),
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
  /**
   * Slack bot token (xoxb-…, scopes chat:write and app_mentions:read): answers @-mentions in their thread, posts a
   * slash command's ack to the channel with the result in its thread, and alert groups to ALERT_SLACK_CHANNEL.
   * Without it, slash commands are answered through their response_url, as before.
   */
  SLACK_BOT_TOKEN: optional(z.string().regex(/^xoxb-[A-Za-z0-9-]{8,}$/, 'expected a bot token such as "xoxb-…"')),
  /** Slack's Web API; the bot token is sent only here, and only if NOTIFY_URL_HOSTS allows its host. */
  SLACK_API_URL: z.preprocess((v) => (v === undefined || v === '' ? DEFAULT_SLACK_API_URL : v), z.url({ protocol: /^https?$/, error: 'expected http(s)://host[:port]/path' })),
  /** Channel (id) for alert groups: one top-level post per group, its results and its resolution in the thread. */
  ALERT_SLACK_CHANNEL: optional(SlackChannel),
  /** The token Mattermost shows for a slash command pointed at the same endpoint (Mattermost does not sign). */
  MATTERMOST_COMMAND_TOKEN: optional(z.string().min(16, 'use the token Mattermost generated for the command')),
  /** YAML rules mapping Alertmanager alerts to playbooks; the webhook is off without them. */
  ALERT_RULES_FILE: optional(z.string().min(1)),
  ALERTMANAGER_BEARER_TOKEN: optional(z.string().min(16, 'use at least 16 characters')),
  /** "user:password", as in Alertmanager's basic_auth. */
  ALERTMANAGER_BASIC_AUTH: optional(z.string().regex(/^[^:]+:.{8,}$/, 'expected user:password (password ≥ 8 characters)')),
  ALERT_SLACK_WEBHOOK_URL: optional(z.url({ protocol: /^https?$/ })),
  /**
   * Where notifications may be posted (Slack response_url and webhooks), comma-separated: `hooks.slack.com` (https,
   * port 443), `chat.example.com:8443` (https on that port), `http://127.0.0.1:4567` (plain http, loopback only,
   * for development). Redirects are never followed. Format in src/notify/targets.ts (NotifyHost).
   */
  NOTIFY_URL_HOSTS: z.preprocess((v) => (v === undefined || v === '' ? 'hooks.slack.com' : v), NotifyHosts),
  /** How long one notification post may take before it counts as failed (and is retried). */
  NOTIFY_TIMEOUT: durationEnv('10s').pipe(z.number().min(100, 'at least 100ms').max(60_000, 'at most 60s')),
  /** Serve /metrics on this port in `tracehound orchestrator` and `tracehound agent` (the API serves its own). */
  METRICS_PORT: optional(z.coerce.number().int().min(1).max(65535)),
  /** Schedules may not fire more often than this. */
  SCHEDULE_MIN_INTERVAL: durationEnv('1m'),
  /**
   * Per-pod kernel series on /metrics (tracehound_pod_*): the most active pods per node that keep series of their
   * own; the rest of the node's pods are summed into pod="_other".
   */
  SWEEP_METRICS_TOP_PODS: z.coerce.number().int('expected a whole number of pods').min(1, 'at least 1').max(1000, 'at most 1000').default(20),
  /**
   * How often the orchestrator looks for investigations that would otherwise never end: their job gone or failed
   * (an orchestrator killed while working on them), or past their deadline. Bounds how late such a one is ended.
   */
  REAPER_INTERVAL: durationEnv('5s').pipe(z.number().min(100, 'at least 100ms').max(300_000, 'at most 5m')),

  /**
   * Largest request body the API reads, refused with 413 before any authentication work: JSON routes, and the
   * Slack/Mattermost endpoints (whose signature covers the whole body, so it must be read before it is checked).
   */
  API_BODY_LIMIT: bytesEnv('1MiB').pipe(z.number().min(1024, 'at least 1KiB')),
  CHATOPS_BODY_LIMIT: bytesEnv('64KiB').pipe(z.number().min(1024, 'at least 1KiB')),
  /**
   * Worker threads that draw differential flame graphs and PNG thumbnails for the API, off its event loop; their
   * default leaves one CPU to the event loop.
   */
  RENDER_POOL_SIZE: z.coerce.number().int().min(1).max(64).default(Math.max(1, availableParallelism() - 1)),
  /** Renders that may wait for a worker; past pool size + this, a render is refused with 503 and Retry-After. */
  RENDER_QUEUE_MAX: z.coerce.number().int().min(0).max(1000).default(4),
  /** Most bytes one render reads: both folded profiles of a diff together, or the SVG of a thumbnail. */
  RENDER_MAX_INPUT: bytesEnv('64MiB').pipe(z.number().min(1024, 'at least 1KiB')),
  /** Open event streams (GET …/events) per identity and in all, per API process; past them, 429. */
  SSE_MAX_PER_IDENTITY: z.coerce.number().int().min(1).max(10_000).default(4),
  SSE_MAX_STREAMS: z.coerce.number().int().min(1).max(100_000).default(256),
}).superRefine((c, ctx) => {
  // BullMQ's scripts and our transactions touch several keys at once: on a cluster they must share one slot.
  if (c.REDIS_CLUSTER && !/\{[^{}]+\}/.test(c.QUEUE_PREFIX)) {
    ctx.addIssue({ code: 'custom', path: ['QUEUE_PREFIX'], message: 'with REDIS_CLUSTER=true it needs a hash tag, such as "{tracehound}"' });
  }
  if ((c.S3_ACCESS_KEY_ID === undefined) !== (c.S3_SECRET_ACCESS_KEY === undefined)) {
    const missing = c.S3_ACCESS_KEY_ID === undefined ? 'S3_ACCESS_KEY_ID' : 'S3_SECRET_ACCESS_KEY';
    ctx.addIssue({ code: 'custom', path: [missing], message: 'S3 credentials need both an access key id and a secret access key (or neither, for the default chain)' });
  }
  // Alert results go to this webhook through the same door as any notification: one it refuses is a dead setting.
  const refused = c.ALERT_SLACK_WEBHOOK_URL ? refusedUrl(c.ALERT_SLACK_WEBHOOK_URL, c.NOTIFY_URL_HOSTS) : undefined;
  if (refused) ctx.addIssue({ code: 'custom', path: ['ALERT_SLACK_WEBHOOK_URL'], message: refused });
  // The bot token goes where SLACK_API_URL says: through the same allow-list, so a typo cannot send it elsewhere.
  const api = c.SLACK_BOT_TOKEN ? refusedUrl(c.SLACK_API_URL, c.NOTIFY_URL_HOSTS) : undefined;
  if (api) ctx.addIssue({ code: 'custom', path: ['SLACK_API_URL'], message: `${api}; with SLACK_BOT_TOKEN set, add its host to NOTIFY_URL_HOSTS` });
  if (c.ALERT_SLACK_CHANNEL && !c.SLACK_BOT_TOKEN) {
    ctx.addIssue({ code: 'custom', path: ['ALERT_SLACK_CHANNEL'], message: 'posting to a channel needs SLACK_BOT_TOKEN (or use ALERT_SLACK_WEBHOOK_URL)' });
  }
});
export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  /** The one way a configuration error reads: a line per problem, each naming its variable (or its source). */
  static of(problems: readonly FieldError[]): ConfigError {
    return new ConfigError(`Invalid configuration:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
}

/** The problems of a failed parse of (part of) the environment, each at its variable. */
export const configProblems = (error: z.ZodError): FieldError[] => error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));

/** Parses the environment once; every problem names its variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) throw ConfigError.of(configProblems(parsed.error));
  return parsed.data;
}

export function describeConfig(c: Config): string {
  return `node=${c.NODE_NAME} cgroupRoot=${c.CGROUP_ROOT} maxCapture=${formatDurationMs(c.CAPTURE_MAX_DURATION)}`;
}
