import type { Logger } from 'pino';
import type { AlertRules } from '../alerts/rules.ts';
import type { SlackRule } from '../auth/access-file.ts';
import type { TokenEntry } from '../auth/tokens.ts';
import type { LinkSigner } from '../auth/signed-links.ts';
import type { IntakeDeps } from '../intake/start.ts';
import type { NodeRegistry } from '../inventory/node-registry.ts';
import type { AlertThreads } from '../notify/alert-threads.ts';
import type { Notifier } from '../notify/notifier.ts';
import type { SlackApi } from '../notify/slack-api.ts';
import type { NotifyHost } from '../notify/targets.ts';
import type { InvestigationChanges } from '../records/investigation-changes.ts';
import type { OnceKeys } from '../intake/once-keys.ts';
import type { RenderPool } from '../render/pool.ts';
import type { ScheduleStore } from '../schedules/schedule-store.ts';
import type { ArtifactStore } from '../storage/artifact-store.ts';
import type { StreamSlots } from './stream-slots.ts';

export interface AuthConfig {
  tokens: readonly TokenEntry[];
  /** Key for signed links (LINK_SECRET); such links grant GET on one report or artifact until they expire. */
  linkSecret: string;
}

export interface SlackSettings {
  /** Slack signs each request with it (X-Slack-Signature). */
  signingSecret?: string;
  /** Mattermost's slash commands carry a per-command token instead of a signature. */
  mattermostToken?: string;
  rules: readonly SlackRule[];
}

export interface AlertmanagerSettings {
  rules: AlertRules;
  /** Accepted credentials: a bearer token and/or basic auth, as configured in Alertmanager's http_config. */
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  /** Incoming webhook to post each started investigation's result to. */
  slackWebhookUrl?: string;
  /** Channel for alert groups through the bot token (ALERT_SLACK_CHANNEL): one thread per group. */
  slackChannel?: string;
}

/**
 * Everything the API needs from the outside world, injected so tests run it against real Redis and S3. What the one
 * door needs (playbooks, inventory, records, the investigations queue, audit, notify targets) is reached through
 * `intake`, never held twice.
 */
export interface ApiDeps {
  intake: IntakeDeps;
  /** Pushes record changes to SSE streams; null where responses cannot stream (AWS Lambda: /events answers 501). */
  changes: InvestigationChanges | null;
  registry: NodeRegistry;
  store: ArtifactStore;
  pingRedis(): Promise<void>;
  log: Logger;
  auth: AuthConfig;
  notifier: Notifier;
  /** Where the server may post notifications (NOTIFY_URL_HOSTS: scheme, host and port each). */
  notifyHosts: readonly NotifyHost[];
  links: LinkSigner;
  schedules: ScheduleStore;
  scheduleMinIntervalMs: number;
  /** Remembers deliveries already handled (Slack trigger_id, Alertmanager alert occurrences). */
  once: OnceKeys;
  slack: SlackSettings | null;
  /** Slack's Web API with the bot token (SLACK_BOT_TOKEN): answers in threads. Null without a token. */
  slackApi: SlackApi | null;
  /** Alert group → its Slack thread (ALERT_SLACK_CHANNEL). */
  alertThreads: AlertThreads;
  alertmanager: AlertmanagerSettings | null;
  /** Worker threads for CPU-heavy renders (diff SVG, PNG thumbnail), so they never run on the event loop. */
  render: RenderPool;
  /** Open event streams, capped per identity and in all. */
  streams: StreamSlots;
  /** Byte limits: request bodies (API_BODY_LIMIT, CHATOPS_BODY_LIMIT) and one render's input (RENDER_MAX_INPUT). */
  limits: { apiBody: number; chatopsBody: number; renderInput: number };
  /** What carries requests to the app: a Node HTTP server, or AWS Lambda (entry/lambda.ts). */
  carrier: {
    /**
     * Whether work may go on after its response is sent. A server process: yes. An AWS Lambda function is frozen
     * between invocations, so there a slow slash command is answered when it is done, not "working on it" first.
     */
    workAfterResponse: boolean;
  };
}
