/**
 * The API as an AWS Lambda function (built to dist/lambda.mjs, handler `handler`): the same Hono app — routes,
 * auth, problem+json, OpenAPI — behind hono/aws-lambda, for API Gateway HTTP API (payload 2.0) and ALB events.
 *
 * Composed once per execution environment, on the first invocation, and reused by every later one (its Redis
 * connections, S3 client and playbooks). Configuration is the environment's, with secrets laid over it from
 * Secrets Manager or SSM where configured (src/secrets/aws-secrets.ts). What differs from the server:
 * - no embedded Redis or S3, no generated token or link secret: each is required, since nothing is kept between
 *   environments and several run at once;
 * - nothing runs after a response (the environment is frozen), so a slow slash command is answered when done;
 * - SSE (/events) cannot stream through API Gateway, which buffers whole responses: clients poll
 *   GET /v1/investigations/{id} instead (README, "AWS Lambda").
 */
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import type { Logger } from 'pino';
import { composeApi } from './api.ts';
import { startServices } from './services.ts';
import { parseAccessFile } from '../src/auth/access-file.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { loadAwsSecrets } from '../src/secrets/aws-secrets.ts';

type LambdaHandler = ReturnType<typeof handle>;

/** The origin requests arrive at, for links when PUBLIC_BASE_URL is unset: API Gateway and ALB both pass Host. */
function originOf(event: LambdaEvent): string | undefined {
  const headers = (event as { headers?: Record<string, string | undefined> }).headers ?? {};
  const host = headers.host ?? headers.Host;
  const proto = headers['x-forwarded-proto'] ?? 'https';
  return host ? `${proto}://${host}` : undefined;
}

interface Composed {
  handle: LambdaHandler;
  /** Set from each event: where links in answers point when PUBLIC_BASE_URL is unset. */
  seen: { origin?: string };
  log: Logger;
  close(): Promise<void>;
}

async function compose(env: Record<string, string | undefined>): Promise<Composed> {
  const secrets = await loadAwsSecrets(env);
  const config = loadConfig({ ...env, ...secrets.env });
  const log = createLogger(config.LOG_LEVEL);
  if (!config.LINK_SECRET) throw ConfigError.of([{ path: 'LINK_SECRET', message: 'required in AWS Lambda (every instance must sign links with the same key)' }]);
  const access = secrets.accessYaml !== undefined ? parseAccessFile(secrets.accessYaml, 'ACCESS_YAML in the secret') : undefined;
  const services = await startServices(config, log, { embedded: false, ...(access ? { access } : {}) });
  if (services.access.tokens.length === 0) {
    throw ConfigError.of([{ path: 'ACCESS_YAML', message: 'no API token configured (put the access file in the secret, or set ACCESS_FILE)' }]);
  }
  const seen: { origin?: string } = {};
  const { app, closeStreams, closeConnections } = await composeApi(config, services, log, {
    tokens: services.access.tokens,
    publicUrl: () => {
      const url = config.PUBLIC_BASE_URL ?? seen.origin;
      if (!url) throw new Error('PUBLIC_BASE_URL is unset and no request has said where the API is reached');
      return url;
    },
    carrier: { workAfterResponse: false },
    streaming: false,
  });
  log.info({ secrets: secrets.sources, playbooks: services.playbooks.length }, 'tracehound API composed for AWS Lambda');
  return {
    handle: handle(app),
    seen,
    log,
    close: async () => {
      await closeStreams();
      await closeConnections();
      for (const o of services.owned.reverse()) await o.stop();
    },
  };
}

export type TracehoundLambda = ((event: LambdaEvent, context: LambdaContext) => ReturnType<LambdaHandler>) & {
  /** Closes what the first invocation opened (tests; Lambda itself just freezes and discards the environment). */
  close(): Promise<void>;
};

/** A handler over `env`, composed on its first invocation. A failed composition is retried by the next one. */
export function createLambdaHandler(env: Record<string, string | undefined>): TracehoundLambda {
  let composed: Promise<Composed> | undefined;
  const invoke = async (event: LambdaEvent, context: LambdaContext) => {
    composed ??= compose(env).catch((err: unknown) => {
      composed = undefined;
      throw err;
    });
    const c = await composed;
    c.seen.origin ??= originOf(event);
    return c.handle(event, context);
  };
  return Object.assign(invoke, { close: async () => (await composed)?.close() });
}

/** The Lambda entry point. */
export const handler = createLambdaHandler(process.env);
